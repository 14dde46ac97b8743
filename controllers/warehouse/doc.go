// Package warehouse reconciles Warehouses: it runs discovery on first sight, on spec
// changes, on a new haul.dev/refresh annotation and every interval, records what it
// found in status, and mints Freight from the best artifact of every subscription.
package warehouse
