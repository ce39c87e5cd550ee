package render

import "encoding/base64"

// lineLen is the length of an encoded base64 line (RFC 2045's limit).
const lineLen = 76

// appendBase64Lines appends the base64 of p in lines of 76 characters,
// each ended by CRLF. H5's transactional mails use it for their parts.
func appendBase64Lines(dst, p []byte) []byte {
	for len(p) > 0 {
		n := min(len(p), lineLen/4*3)
		dst = base64.StdEncoding.AppendEncode(dst, p[:n])
		dst = append(dst, '\r', '\n')
		p = p[n:]
	}
	return dst
}

// chunk is a static piece of a rendered part with its base64 encoding
// cached for each of the three ways it can be aligned on a 3-byte group.
//
// A part is static chunks with per-recipient slots between them. Base64
// works on 3-byte groups, so a chunk's encoding depends on how many bytes
// (0, 1 or 2) are left over from what came before it. Instead of padding
// chunks and slots to multiples of 3 (which would put spaces inside URLs),
// the writer completes the leftover group with the first j bytes of the
// chunk and then copies enc[j], the encoding of the following whole groups;
// the chunk's last 0–2 bytes (tail) carry over to the next piece. Each
// cached encoding is whole lines of 76 characters plus a shorter last line:
// short lines at the joints are legal and every decoder ignores them.
type chunk struct {
	raw  []byte
	enc  [3][]byte
	tail [3][]byte
}

func newChunk(raw []byte) *chunk {
	c := &chunk{raw: raw}
	for j := range 3 {
		if j > len(raw) {
			c.tail[j] = nil
			continue
		}
		body := raw[j:]
		n := len(body) / 3 * 3
		c.enc[j] = appendBase64Lines(nil, body[:n])
		c.tail[j] = body[n:]
	}
	return c
}

// encoder streams a part as base64 into buf: small dynamic pieces
// (slots) are encoded on the spot, static chunks are copied from their
// cache.
type encoder struct {
	buf   []byte
	carry [3]byte
	nc    int // bytes in carry
	col   int // characters on the current output line
}

// dynamic encodes p after whatever is carried over.
func (e *encoder) dynamic(p []byte) { feed(e, p) }

// dynamicString is dynamic for a string (a slot value), without copying it.
func (e *encoder) dynamicString(p string) { feed(e, p) }

func feed[T string | []byte](e *encoder, p T) {
	for len(p) > 0 {
		k := copy(e.carry[e.nc:], p)
		e.nc += k
		p = p[k:]
		if e.nc == 3 {
			e.emitGroup()
		}
	}
}

func (e *encoder) emitGroup() {
	if e.col >= lineLen {
		e.buf = append(e.buf, '\r', '\n')
		e.col = 0
	}
	e.buf = base64.StdEncoding.AppendEncode(e.buf, e.carry[:3])
	e.col += 4
	e.nc = 0
}

// static writes a cached chunk.
func (e *encoder) static(c *chunk) {
	j := (3 - e.nc) % 3
	if j > len(c.raw) || len(c.raw)-j < 3 {
		e.dynamic(c.raw) // too short to be worth the cache
		return
	}
	e.dynamic(c.raw[:j])
	if e.col > 0 {
		e.buf = append(e.buf, '\r', '\n')
		e.col = 0
	}
	e.buf = append(e.buf, c.enc[j]...)
	e.nc = copy(e.carry[:], c.tail[j])
}

// finish encodes the last partial group with padding and ends the line.
func (e *encoder) finish() {
	if e.nc > 0 {
		if e.col >= lineLen {
			e.buf = append(e.buf, '\r', '\n')
		}
		e.buf = base64.StdEncoding.AppendEncode(e.buf, e.carry[:e.nc])
		e.col = 1
		e.nc = 0
	}
	if e.col > 0 {
		e.buf = append(e.buf, '\r', '\n')
		e.col = 0
	}
}
