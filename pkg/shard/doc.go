// Package shard says which controller process owns an object: the label selector a
// shard's cache uses, the shard an object belongs to, and each shard's leader-election
// Lease. Objects labelled haul.dev/shard=NAME belong to `haul controller --shard NAME`;
// unlabelled objects belong to the default controller (Kargo's model, under
// kargo.akuity.io/shard).
package shard
