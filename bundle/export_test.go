package bundle

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"os"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// TarMember is one member of a bundle, as Reseal hands it to its edit.
type TarMember struct {
	Name string
	Data []byte
}

// Reseal rewrites the bundle file as save writes one (frames, the
// manifest in its own, the checksum frame) after edit has changed its
// members or its manifest: a crafted bundle that checks as sound until
// its members are compared with its manifest.
func Reseal(t testing.TB, file string, edit func(members []TarMember, man *Manifest) []TarMember) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zstd.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	var members []TarMember
	var man Manifest
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Name == ManifestName {
			if err := json.Unmarshal(b, &man); err != nil {
				t.Fatal(err)
			}
			continue
		}
		members = append(members, TarMember{hdr.Name, b})
	}
	members = edit(members, &man)
	var buf bytes.Buffer
	sum := sha256.New()
	fw, err := newFrameWriter(io.MultiWriter(&buf, sum), DefaultLevel)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(fw)
	put := func(name string, b []byte) {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(b)), ModTime: time.Unix(0, 0)}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range members {
		put(m.Name, m.Data)
	}
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	fw.Flush()
	mb, err := json.Marshal(&man)
	if err != nil {
		t.Fatal(err)
	}
	put(ManifestName, mb)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	buf.Write(sumTrailer(sum.Sum(nil)))
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}
