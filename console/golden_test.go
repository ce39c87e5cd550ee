package console_test

import (
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden pages in testdata/golden")

// The pages without data (sign-in, not found) are compared byte for byte
// with golden files in both languages, so a change to the layout or the
// words is seen in review (go test ./console -run Golden -update).
func TestGoldenPages(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, c := range []struct{ name, path, lang string }{
		{"signin.en", "/admin/signin", "en"},
		{"signin.zh", "/admin/signin", "zh-CN"},
		{"notfound.en", "/admin/nothing", "en"},
		{"notfound.zh", "/admin/nothing", "zh"},
	} {
		b := e.browser()
		if c.name[:8] == "notfound" {
			b.signIn(editorEmail)
			b.post("/admin/lang", map[string][]string{"lang": {c.lang[:2]}})
		}
		req, _ := http.NewRequest("GET", e.ts.URL+c.path, nil)
		req.Header.Set("Accept-Language", c.lang)
		a := b.do(req)
		got := []byte(a.body)
		file := filepath.Join("testdata", "golden", c.name+".html")
		if *update {
			os.MkdirAll(filepath.Dir(file), 0o755)
			if err := os.WriteFile(file, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if string(want) != string(got) {
			t.Errorf("%s differs from %s (run with -update if intended):\n%s", c.path, file, got)
		}
	}
}
