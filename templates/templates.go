// Package templates holds the embedded layouts of every reader-facing
// page and mail: email/ for the newsletter and transactional mails, web/
// for the reader pages, static/ for the one stylesheet.
//
// A list may override any file by name with a directory of its own
// (list set --templates DIR); FS layers such a directory over these.
package templates

import (
	"embed"
	"errors"
	"io/fs"
	"os"
)

//go:embed *
var embedded embed.FS

// FS is the built-in templates.
var FS fs.FS = embedded

// Overlay returns an FS that serves files from dir when present there and
// from the built-in templates otherwise. An empty dir means FS.
func Overlay(dir string) fs.FS {
	if dir == "" {
		return FS
	}
	return overlay{top: os.DirFS(dir), base: FS}
}

type overlay struct{ top, base fs.FS }

func (o overlay) Open(name string) (fs.File, error) {
	f, err := o.top.Open(name)
	if err == nil {
		return f, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return o.base.Open(name)
}
