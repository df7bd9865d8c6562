package ecard

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"sync"
)

// The QR code's PNG is written here rather than by image/png: a QR code is
// a few dozen rows of modules, each repeated over several pixel rows, and
// image/png reads every pixel through an interface call. Packing each
// module row once into a 1-bit grayscale scanline and deflating the
// repeats at the fastest level makes the PNG a small part of a card's cost.

// pngSignature starts every PNG file.
var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// zlibWriters pools deflate state (about a megabyte each).
var zlibWriters = sync.Pool{New: func() any {
	w, _ := zlib.NewWriterLevel(nil, zlib.BestSpeed)
	return w
}}

// qrPNG renders bitmap (true: a dark module, border included) as a
// size×size 1-bit grayscale PNG, each pixel taking the module under it. A
// size below the module count is raised to it.
func qrPNG(bitmap [][]bool, size int) ([]byte, error) {
	modules := len(bitmap)
	size = max(size, modules)
	stride := 1 + (size+7)/8 // filter byte, then 8 pixels a byte
	// One scanline per module row; pixel rows reuse them.
	lines := make([][]byte, modules)
	for my, row := range bitmap {
		line := make([]byte, stride) // filter 0 (none)
		for x := range size {
			if !row[x*modules/size] {
				line[1+x/8] |= 0x80 >> (x % 8) // 1 is white
			}
		}
		lines[my] = line
	}
	var idat bytes.Buffer
	idat.Grow(size * stride / 16)
	zw := zlibWriters.Get().(*zlib.Writer)
	defer zlibWriters.Put(zw)
	zw.Reset(&idat)
	for y := range size {
		if _, err := zw.Write(lines[y*modules/size]); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	out := bytes.NewBuffer(make([]byte, 0, idat.Len()+64))
	out.Write(pngSignature)
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(size))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(size))
	ihdr[8], ihdr[9] = 1, 0 // bit depth 1, grayscale; compression, filter, interlace 0
	writeChunk(out, "IHDR", ihdr[:])
	writeChunk(out, "IDAT", idat.Bytes())
	writeChunk(out, "IEND", nil)
	return out.Bytes(), nil
}

// writeChunk appends one PNG chunk: length, type, data, CRC of type+data.
func writeChunk(out *bytes.Buffer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	out.Write(n[:])
	out.WriteString(typ)
	out.Write(data)
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	binary.BigEndian.PutUint32(n[:], crc.Sum32())
	out.Write(n[:])
}
