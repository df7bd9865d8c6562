package ecard

import (
	"bytes"
	"context"
	"encoding/base64"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/skip2/go-qrcode"

	"handheld/services/store/storetest"
)

// Each benchmark reports, next to its own ns/op, x_floor: its time over a
// floor that no implementation of the design can go below, timed
// for as many iterations in the same run. On a busy or slow machine both
// move together and the ratio stays put.

// BenchmarkCardAndQR320 mints a compact card and renders it as a 320 px
// PNG. Floor: the QR library's own one-call PNG of the same payload at the
// same recovery level (the card's own PNG writer now beats it: x_floor < 1).
func BenchmarkCardAndQR320(b *testing.B) {
	r := newRig(b, storetest.Migrated(b, storetest.SQLiteDSN(b)))
	ctx := context.Background()
	for b.Loop() {
		if _, err := r.QR(ctx, depositor("s_zhang"), 320); err != nil {
			b.Fatal(err)
		}
	}
	c, err := r.Card(ctx, depositor("s_zhang"))
	if err != nil {
		b.Fatal(err)
	}
	reportFloor(b, func() {
		if _, err := qrcode.Encode(c.Payload, qrcode.Medium, 320); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkCardAndQR320CompactVsJWS mints a compact card and its 320 px
// PNG, then, in the same run and as many times each, a JWS card with the
// same PNG writer (x_jws: the format's share) and a JWS card drawn as
// before the compact format, through the QR library's image and image/png
// at its fastest level (x_before: the whole change). jws_ns/op and
// before_ns/op are those two's own times.
func BenchmarkCardAndQR320CompactVsJWS(b *testing.B) {
	db := storetest.Migrated(b, storetest.SQLiteDSN(b))
	compact, old := newRig(b, db), newRig(b, db, jws)
	ctx := context.Background()
	for b.Loop() {
		if _, err := compact.QR(ctx, depositor("s_zhang"), 320); err != nil {
			b.Fatal(err)
		}
	}
	own := b.Elapsed()
	timed := func(name string, f func()) {
		start := time.Now()
		for range b.N {
			f()
		}
		took := time.Since(start)
		b.ReportMetric(float64(own)/float64(took), "x_"+name)
		b.ReportMetric(float64(took.Nanoseconds())/float64(b.N), name+"_ns/op")
	}
	timed("jws", func() {
		if _, err := old.QR(ctx, depositor("s_zhang"), 320); err != nil {
			b.Fatal(err)
		}
	})
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	timed("before", func() {
		c, err := old.Card(ctx, depositor("s_zhang"))
		if err != nil {
			b.Fatal(err)
		}
		q, err := qrcode.New(c.Payload, qrcode.Medium)
		if err != nil {
			b.Fatal(err)
		}
		var buf bytes.Buffer
		if err := enc.Encode(&buf, q.Image(320)); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkVerifyCheck is the verification itself: shape, signature, key,
// type and claims. Floor: one bare Ed25519 signature check of the payload.
func BenchmarkVerifyCheck(b *testing.B) {
	r := newRig(b, storetest.Migrated(b, storetest.SQLiteDSN(b)))
	c, err := r.Card(context.Background(), depositor("s_zhang"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := r.parse(c.Payload); err != nil {
			b.Fatal(err)
		}
	}
	reportFloor(b, signatureFloor(b, r, c.Payload))
}

// BenchmarkVerifyNoRedis is a whole verification with the in-memory
// one-time store: the check, the live account and person from the core
// client's cache, the use recorded in SQLite and the audit record queued.
// Cards are minted outside the timer. Floor: as BenchmarkVerifyCheck.
func BenchmarkVerifyNoRedis(b *testing.B) {
	r := newRig(b, storetest.Migrated(b, storetest.SQLiteDSN(b)))
	ctx := context.Background()
	payloads := make([]string, 0, 1024)
	var last string
	for b.Loop() {
		if len(payloads) == 0 {
			b.StopTimer()
			for range cap(payloads) {
				c, err := r.Card(ctx, depositor("s_zhang"))
				if err != nil {
					b.Fatal(err)
				}
				payloads = append(payloads, c.Payload)
			}
			b.StartTimer()
		}
		last = payloads[len(payloads)-1]
		payloads = payloads[:len(payloads)-1]
		if _, err := r.Verify(ctx, counter(), last); err != nil {
			b.Fatal(err)
		}
	}
	reportFloor(b, signatureFloor(b, r, last))
}

// signatureFloor checks payload's signature (either format) with the
// e-card key alone: crypto/ed25519, or SM2 under the sm suite.
func signatureFloor(b *testing.B, r *rig, payload string) func() {
	pub, _ := r.ring.Public(r.signer.KID)
	var msg, sig []byte
	if strings.HasPrefix(payload, CompactPrefix) {
		raw, err := base45Decode(payload[len(CompactPrefix):])
		if err != nil {
			b.Fatal(err)
		}
		var m sign1
		if err := cborDec.Unmarshal(raw, &m); err != nil {
			b.Fatal(err)
		}
		if msg, err = sigStructure(m.Protected, r.aad, m.Payload); err != nil {
			b.Fatal(err)
		}
		sig = m.Signature
	} else {
		cut := strings.LastIndexByte(payload, '.')
		var err error
		if sig, err = base64.RawURLEncoding.DecodeString(payload[cut+1:]); err != nil {
			b.Fatal(err)
		}
		msg = []byte(payload[:cut])
	}
	return func() {
		if !pub.Verify(msg, sig) {
			b.Fatal("floor: signature does not verify")
		}
	}
}

// reportFloor times floor for b.N iterations after the benchmark's own loop
// and reports the ratio as x_floor.
func reportFloor(b *testing.B, floor func()) {
	own := b.Elapsed()
	start := time.Now()
	for range b.N {
		floor()
	}
	b.ReportMetric(float64(own)/float64(time.Since(start)), "x_floor")
}
