package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// Request body limits: JSON is small; CSV and Markdown files may be large.
const (
	maxJSONBody = 1 << 20
	maxFileBody = 20 << 20
)

// decodeJSON reads a JSON object body into v. Unknown fields, wrong types
// and trailing data are 422 naming the field; a body over the limit is 413;
// another content type is 415.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if err := wantContentType(r, "application/json"); err != nil {
		return err
	}
	body := http.MaxBytesReader(w, r.Body, maxJSONBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid("body", "trailing data after the JSON object")
	}
	return nil
}

// jsonError turns a decoding error into a 422 naming the field.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return errStatus(http.StatusRequestEntityTooLarge, "request body is larger than %d bytes", mbe.Limit)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "body"
			return invalid(field, "want a JSON object, got %s", te.Value)
		}
		return invalid(field, "want %s, got %s", jsonType(te.Type.Kind().String()), te.Value)
	case errors.As(err, &se):
		return invalid("body", "not valid JSON at byte %d: %v", se.Offset, se)
	case errors.Is(err, io.EOF):
		return invalid("body", "empty body: want a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("body", "JSON ends too early")
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		f = strings.Trim(f, `"`)
		return invalid(f, "unknown field")
	}
	return invalid("body", "%v", err)
}

// jsonType names a Go kind as JSON calls it.
func jsonType(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"), strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "string":
		return "a string"
	case kind == "bool":
		return "true or false"
	case kind == "slice", kind == "array":
		return "an array"
	case kind == "map", kind == "struct", kind == "ptr":
		return "an object"
	}
	return kind
}

// wantContentType refuses a body of another media type with 415.
func wantContentType(r *http.Request, want ...string) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil {
		for _, w := range want {
			if strings.EqualFold(mt, w) {
				return nil
			}
		}
	}
	if ct == "" {
		ct = "none"
	}
	return errStatus(http.StatusUnsupportedMediaType, "Content-Type %s: want %s", ct, strings.Join(want, " or "))
}

// readFile reads a file body (CSV, Markdown) of at most maxFileBody bytes.
func readFile(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, maxFileBody)); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errStatus(http.StatusRequestEntityTooLarge, "request body is larger than %d bytes", mbe.Limit)
		}
		return nil, fmt.Errorf("read body: %w", err)
	}
	if buf.Len() == 0 {
		return nil, invalid("body", "empty body")
	}
	return buf.Bytes(), nil
}

// pathID is a positive integer path value such as {id}.
func pathID(r *http.Request, name string) (int64, error) {
	v := r.PathValue(name)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, invalid(name, "%q is not a positive integer", v)
	}
	return n, nil
}

// queryInt is an optional integer query parameter in [lo, hi]; def when absent.
func queryInt(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, invalid(name, "%q: want an integer from %d to %d", v, lo, hi)
	}
	return n, nil
}

// queryBool is an optional boolean query parameter: 1/true/yes or 0/false/no.
func queryBool(r *http.Request, name string) (bool, error) {
	switch strings.ToLower(r.URL.Query().Get(name)) {
	case "", "0", "false", "no":
		return false, nil
	case "1", "true", "yes":
		return true, nil
	}
	return false, invalid(name, "%q: want true or false", r.URL.Query().Get(name))
}

// splitList splits a comma-separated query value, dropping empty parts.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '，' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
