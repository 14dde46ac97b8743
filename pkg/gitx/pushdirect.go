package gitx

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	"github.com/go-git/go-git/v5/storage/memory"
)

// pushDirect pushes head to branch in one in-process receive-pack exchange (go-git's
// transport), sending only the objects the work tree holds itself; everything else it
// borrowed from the cache, which mirrors the remote. `git push` starts four processes
// and works out the objects to send by walking history; here the answer is known.
//
// It reports false whenever it cannot be sure, and Push then runs `git push`, which
// also handles every outcome of a failed attempt (the ref moved or not): a non-HTTP
// remote, packs in the work tree, a remote tip outside the commits this work tree made
// and their parents (not a plain fast-forward), or any error or refusal from the
// remote. The remote's connectivity check refuses a pack that would leave an object
// missing.
func (w *Worktree) pushDirect(ctx context.Context, branch, head string) bool {
	if !strings.HasPrefix(w.URL, "https://") && !strings.HasPrefix(w.URL, "http://") {
		return false
	}
	gd := filepath.Join(w.Dir, ".git")
	if hasPacks(gd) {
		return false
	}
	own, err := looseClosure(gd, head)
	if err != nil || len(own) == 0 || own[0] != head {
		return false // head itself was not committed here: nothing of ours to send
	}
	store := memory.NewStorage()
	hashes := make([]plumbing.Hash, 0, len(own))
	// ancestors are head's history as far as this work tree made it: its own commits
	// and their parents. A remote tip among them makes the push a fast-forward.
	ancestors := map[plumbing.Hash]bool{}
	for _, h := range own {
		obj, err := readLoose(filepath.Join(gd, "objects", h[:2], h[2:]))
		if err != nil {
			return false
		}
		if obj.Type() == plumbing.CommitObject {
			var c object.Commit
			if err := c.Decode(obj); err != nil {
				return false
			}
			ancestors[plumbing.NewHash(h)] = true
			for _, parent := range c.ParentHashes {
				ancestors[parent] = true
			}
		}
		if _, err := store.SetEncodedObject(obj); err != nil {
			return false
		}
		hashes = append(hashes, plumbing.NewHash(h))
	}

	ctx, cancel := context.WithTimeout(ctx, stallTimeout)
	defer cancel()
	ep, err := transport.NewEndpoint(w.URL)
	if err != nil {
		return false
	}
	ep.InsecureSkipTLS = w.InsecureSkipTLSVerify || w.Auth.insecure()
	tr, err := client.NewClient(ep)
	if err != nil {
		return false
	}
	sess, err := tr.NewReceivePackSession(ep, goGitAuth(w.Auth))
	if err != nil {
		return false
	}
	defer sess.Close()
	adv, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil {
		return false
	}
	ref := plumbing.NewBranchReferenceName(branch)
	tip, exists := adv.References[ref.String()]
	if exists && tip.String() == head {
		return true
	}
	if exists && !ancestors[tip] {
		return false
	}
	var pack bytes.Buffer
	enc := packfile.NewEncoder(&pack, store, !adv.Capabilities.Supports(capability.OFSDelta))
	if _, err := enc.Encode(hashes, 0); err != nil {
		return false
	}
	req := packp.NewReferenceUpdateRequestFromCapabilities(adv.Capabilities)
	old := plumbing.ZeroHash
	if exists {
		old = tip
	}
	req.Commands = []*packp.Command{{Name: ref, Old: old, New: plumbing.NewHash(head)}}
	req.Packfile = io.NopCloser(&pack)
	status, err := sess.ReceivePack(ctx, req)
	if err != nil {
		return false
	}
	return status != nil && status.Error() == nil
}
