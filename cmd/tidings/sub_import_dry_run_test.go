package main

import (
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// --dry-run reports exactly what the import then does (same lines, same
// counts, same exit status) and leaves the database as it was.
func TestSubImportDryRunMatchesImport(t *testing.T) {
	gbk, err := simplifiedchinese.GBK.NewEncoder().String("邮箱,姓名,主题\nwang@example.com,王芳,ai\nli@example.com,李雷,chips;sport\n")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		content string
		code    int
	}{
		{"good with header", "email,name,topics,status\na@example.com,A,ai,\nb@example.com,B,all,pending\n", 0},
		{"bad rows, no header", "a@example.com,A\nnope,X\na@EXAMPLE.com,again\nc@example.com,C,sport\nd@example.com,\"D\ne@example.com,E\n", 1},
		{"gbk", gbk, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newKejiEnv(t)
			mustRunCLI(t, env, "sub", "add", "a@example.com", "--name", "Old A", "--topics", "space")
			before := mustRunCLI(t, env, "sub", "export")
			file := writeTestFile(t, "in.csv", []byte(tt.content))

			_, dryErr, dryCode := runCLI(t, env, "", "sub", "import", file, "--dry-run")
			if after := mustRunCLI(t, env, "sub", "export"); after != before {
				t.Errorf("dry run changed the database:\n%s\n---\n%s", before, after)
			}
			_, realErr, realCode := runCLI(t, env, "", "sub", "import", file)
			if dryCode != tt.code || realCode != tt.code {
				t.Errorf("exit %d dry, %d real, want %d", dryCode, realCode, tt.code)
			}
			if want := strings.Replace(realErr, "imported ", "dry run: would import ", 1); dryErr != want {
				t.Errorf("dry run said\n%s\nthe import said\n%s", dryErr, realErr)
			}
		})
	}
}
