package demo

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/Masterminds/semver/v3"
)

// InitialVersions are pushed the first time the demo starts.
var InitialVersions = []string{"1.0.0", "1.1.0"}

// State is what the demo remembers between runs: fixed addresses, so the Warehouse and
// Stage URLs stored in the cluster stay valid, and every image version released.
type State struct {
	RegistryAddr string   `json:"registryAddr"`
	GitAddr      string   `json:"gitAddr"`
	AppAddr      string   `json:"appAddr"`
	Versions     []string `json:"versions"`
}

func statePath(dataDir string) string { return filepath.Join(dataDir, "demo", "state.json") }

// LoadState reads the demo state of a data dir; a missing file gives an empty state.
func LoadState(dataDir string) (*State, error) {
	b, err := os.ReadFile(statePath(dataDir))
	if errors.Is(err, os.ErrNotExist) {
		return &State{}, nil
	}
	if err != nil {
		return nil, err
	}
	s := &State{}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("reading %s: %w", statePath(dataDir), err)
	}
	return s, nil
}

// Save writes the state atomically.
func (s *State) Save(dataDir string) error {
	p := statePath(dataDir)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// AddVersion records v once, keeping versions sorted.
func (s *State) AddVersion(v string) {
	for _, have := range s.Versions {
		if have == v {
			return
		}
	}
	s.Versions = append(s.Versions, v)
	sort.Slice(s.Versions, func(i, j int) bool {
		a, errA := semver.NewVersion(s.Versions[i])
		b, errB := semver.NewVersion(s.Versions[j])
		if errA != nil || errB != nil {
			return s.Versions[i] < s.Versions[j]
		}
		return a.LessThan(b)
	})
}

// NextVersion is the next minor version after the newest released one.
func (s *State) NextVersion() string {
	newest := semver.MustParse("1.0.0")
	for _, v := range s.Versions {
		if sv, err := semver.NewVersion(v); err == nil && sv.GreaterThan(newest) {
			newest = sv
		}
	}
	return newest.IncMinor().String()
}
