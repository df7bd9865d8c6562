package certpdf

import (
	"crypto/sha256"
	"encoding/json"
	"sync"

	"handheld/services/certificate"
)

// bodyCacheSize is how many bodies a Renderer keeps: enough for the
// issuances in flight at once, small enough not to matter (≈ 80 KB each).
const bodyCacheSize = 16

// bodyCache keeps the last few rendered bodies — the PDF as gopdf wrote it,
// before the information dictionary — by everything but the signature.
// Issuance renders each certificate twice, unsigned (its hash goes into the
// signed claims) and then signed; the two differ only in the signature,
// which lives in the information dictionary, so the second render takes the
// body from here instead of laying out the page and compressing the font
// again. Output bytes are the same either way.
type bodyCache struct {
	mu   sync.Mutex
	keys [bodyCacheSize][sha256.Size]byte
	vals [bodyCacheSize][]byte
	next int
}

// bodyKey identifies a body: the document without its signature, the
// language and the variant.
func bodyKey(d certificate.Document, lang, variant string) ([sha256.Size]byte, error) {
	d.Signature = ""
	raw, err := json.Marshal(struct {
		Doc           certificate.Document
		Lang, Variant string
	}{d, lang, variant})
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	return sha256.Sum256(raw), nil
}

// get returns the body stored under k; callers must not modify it.
func (c *bodyCache) get(k [sha256.Size]byte) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, key := range c.keys {
		if key == k && c.vals[i] != nil {
			return c.vals[i], true
		}
	}
	return nil, false
}

// put stores a body, replacing the oldest.
func (c *bodyCache) put(k [sha256.Size]byte, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys[c.next], c.vals[c.next] = k, body
	c.next = (c.next + 1) % bodyCacheSize
}
