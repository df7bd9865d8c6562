package coresim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"

	"handheld/services/core"
)

// Reasons of a review that finds an application's evidence wanting.
const (
	// ReasonMaterialMissing: an application names an upload the core
	// never received for it.
	ReasonMaterialMissing = "material_missing"
	// ReasonMaterialCorrupt: an upload's bytes differ from the digest or
	// size the application names, or are not the media type it says.
	ReasonMaterialCorrupt = "material_corrupt"
	// ReasonSharedEvidenceInvalid: a shared-data fact from a source that
	// cannot evidence the category, or without a reference of the
	// exchange.
	ReasonSharedEvidenceInvalid = "shared_evidence_invalid"
)

// maxMaterialBody bounds one uploaded document (handheld's own bound is
// 15 MiB after re-encoding).
const maxMaterialBody = 16 << 20

// sharedSources are the data-sharing exchange's facts ("source.fact")
// the core accepts as evidence of each category.
func sharedSources(category string) []string {
	switch category {
	case core.EvidencePropertyRegistration:
		return []string{"real_estate.deed", "real_estate.filed_contract"}
	case core.EvidenceDiagnosis:
		return []string{"medical_insurance.illness_settlement"}
	}
	return nil
}

// exchangeReference is the shape of the exchange's answer references: the
// core would look each up with the exchange; the simulator checks its form.
var exchangeReference = regexp.MustCompile(`^GX-[a-z_]+-[0-9]{8}-[0-9]{6,}$`)

// mediaTypes are the uploads the core archives, by their first bytes.
var mediaTypes = map[string][]byte{
	"application/pdf": []byte("%PDF-"),
	"image/jpeg":      {0xFF, 0xD8, 0xFF},
	"image/png":       {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'},
}

// putMaterial keeps one uploaded document of an application, before or
// after the application itself: 201 the first time, 200 for the same
// bytes again, 409 for other bytes under the same material id.
func (s *Sim) putMaterial(ctx context.Context, c call) (int, any, error) {
	app, id := c.r.PathValue("application_id"), c.r.PathValue("material_id")
	media := c.r.Header.Get("Content-Type")
	magic, ok := mediaTypes[media]
	switch {
	case app == "" || len(app) > 64 || id == "" || len(id) > 64:
		return 0, nil, badRequest("application and material ids: 1-64 characters")
	case !ok:
		return 0, nil, badRequest("Content-Type: application/pdf, image/jpeg or image/png")
	case !bytes.HasPrefix(c.body, magic):
		return 0, nil, badRequest("the bytes are not " + media)
	}
	sum := sha256.Sum256(c.body)
	digest := hex.EncodeToString(sum[:])
	status := http.StatusCreated
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var old string
		err := tx.QueryRowContext(ctx, `SELECT sha256 FROM withdrawal_materials WHERE application_id = ? AND material_id = ?`, app, id).Scan(&old)
		switch {
		case err == nil && old == digest:
			status = http.StatusOK
			return nil
		case err == nil:
			return &apiError{status: http.StatusConflict, code: core.ErrConflict, msg: "material id already used for other bytes"}
		case err != sql.ErrNoRows:
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO withdrawal_materials (application_id, material_id, media_type, size, sha256, content, received_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, app, id, media, len(c.body), digest, c.body, c.now.UnixNano())
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	return status, map[string]any{"material_id": id, "sha256": digest, "size": len(c.body)}, nil
}

// hasEvidence reports whether a names evidence of category: a reference to
// the person's records, a shared-data fact, or an upload.
func hasEvidence(a application, category string) bool {
	return len(a.EvidenceRefs) > 0 ||
		slices.ContainsFunc(a.SharedEvidence, func(e core.SharedEvidence) bool { return e.Evidence == category }) ||
		slices.ContainsFunc(a.Materials, func(m core.MaterialRef) bool { return m.Evidence == category })
}

// reviewEvidence checks what an application's evidence names beyond the
// person's records: every shared fact is of a source that can evidence
// its category and carries the exchange's reference; every upload arrived
// for this application with the size, digest and type it names.
func reviewEvidence(ctx context.Context, tx *sql.Tx, a application) (string, error) {
	for _, e := range a.SharedEvidence {
		allowed := sharedSources(e.Evidence)
		// Facts of other categories (a marriage for a spouse's purchase)
		// support the application and are only checked for a reference.
		if (len(allowed) > 0 && !slices.Contains(allowed, e.Source+"."+e.Fact)) || !exchangeReference.MatchString(e.Reference) {
			return ReasonSharedEvidenceInvalid, nil
		}
	}
	for _, m := range a.Materials {
		var media, digest string
		var size int64
		err := tx.QueryRowContext(ctx, `SELECT media_type, size, sha256 FROM withdrawal_materials WHERE application_id = ? AND material_id = ?`,
			a.ApplicationID, m.ID).Scan(&media, &size, &digest)
		switch {
		case err == sql.ErrNoRows:
			return ReasonMaterialMissing, nil
		case err != nil:
			return "", err
		case media != m.MediaType || size != m.Size || digest != m.SHA256:
			return ReasonMaterialCorrupt, nil
		}
	}
	return "", nil
}

// evidenceColumns are how shared facts and uploads are stored with an
// application: JSON arrays, "[]" for none.
func evidenceColumns(w core.Withdrawal) (shared, materials string, err error) {
	enc := func(v any, n int) (string, error) {
		if n == 0 {
			return "[]", nil
		}
		b, err := json.Marshal(v)
		return string(b), err
	}
	if shared, err = enc(w.SharedEvidence, len(w.SharedEvidence)); err != nil {
		return "", "", err
	}
	materials, err = enc(w.Materials, len(w.Materials))
	return shared, materials, err
}
