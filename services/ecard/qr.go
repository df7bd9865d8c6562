package ecard

import (
	"fmt"

	"github.com/skip2/go-qrcode"
)

// QRCodePNG renders text as a size×size PNG QR code (medium error
// correction) with the e-card's renderer, for other short payloads a
// person shows from the mini-program (a share's one-time code). A size
// outside MinQRSize..MaxQRSize is an error.
func QRCodePNG(text string, size int) ([]byte, error) {
	if size < MinQRSize || size > MaxQRSize {
		return nil, fmt.Errorf("ecard: qr size %d outside %d..%d", size, MinQRSize, MaxQRSize)
	}
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("ecard: qr: %w", err)
	}
	return qrPNG(q.Bitmap(), size)
}
