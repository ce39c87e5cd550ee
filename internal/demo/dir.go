package demo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// marker says a folder is the demo's: each run deletes and remakes the
// files listed in files, and refuses a folder holding anything else.
const marker = ".tidings-demo"

var files = []string{marker, "tidings.db", "tidings.db-wal", "tidings.db-shm", "subscribers.csv", "issue.md"}

// PrepareDir makes (or empties of earlier demo files) the folder. When
// dir cannot be written and was not chosen explicitly, a temporary folder
// is used instead.
func PrepareDir(dir string, explicit bool) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil || !writable(dir) {
		if explicit {
			return "", fmt.Errorf("demo: folder %s: cannot write there (give another --dir)", dir)
		}
		tmp, terr := os.MkdirTemp("", "tidings-demo-")
		if terr != nil {
			return "", fmt.Errorf("demo: no folder to work in: %w", terr)
		}
		dir = tmp
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	ours := len(entries) == 0
	var foreign []string
	for _, e := range entries {
		if e.Name() == marker {
			ours = true
		}
		if !slices.Contains(files, e.Name()) {
			foreign = append(foreign, e.Name())
		}
	}
	if !ours || len(foreign) > 0 {
		return "", fmt.Errorf("demo: folder %s holds files the demo did not make (%s): give an empty or new folder with --dir", dir, strings.Join(foreign, ", "))
	}
	for _, f := range files {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("demo: start afresh: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, marker), []byte("made by tidings demo; each run deletes and remakes this folder's demo files\n"), 0o644); err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	return dir, nil
}

func writable(dir string) bool {
	f, err := os.CreateTemp(dir, ".probe-")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}
