package bundle_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/bundle"
)

// pushRegistry is the smallest registry (distribution API v2) the engine
// can push to: blobs in memory, monolithic or chunked uploads, manifests by
// tag. It serves plain HTTP on loopback, which the engine allows for
// 127.0.0.0/8 without configuration.
type pushRegistry struct {
	mu        sync.Mutex
	blobs     map[string][]byte
	uploads   map[string][]byte
	manifests map[string][]byte // "name:tag"
	n         int
}

var (
	blobRE     = regexp.MustCompile(`^/v2/(.+)/blobs/(sha256:[a-f0-9]{64})$`)
	uploadsRE  = regexp.MustCompile(`^/v2/(.+)/blobs/uploads/$`)
	uploadRE   = regexp.MustCompile(`^/v2/(.+)/blobs/uploads/([0-9]+)$`)
	manifestRE = regexp.MustCompile(`^/v2/(.+)/manifests/([^/]+)$`)
)

func (r *pushRegistry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	p := req.URL.Path
	body, _ := io.ReadAll(req.Body)
	switch {
	case p == "/v2/" || p == "/v2":
		w.WriteHeader(http.StatusOK)
	case blobRE.MatchString(p) && (req.Method == http.MethodHead || req.Method == http.MethodGet):
		b, ok := r.blobs[blobRE.FindStringSubmatch(p)[2]]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		w.WriteHeader(http.StatusOK)
		if req.Method == http.MethodGet {
			w.Write(b)
		}
	case uploadsRE.MatchString(p) && req.Method == http.MethodPost:
		name := uploadsRE.FindStringSubmatch(p)[1]
		r.n++
		id := fmt.Sprint(r.n)
		r.uploads[id] = body
		w.Header().Set("Location", fmt.Sprintf("/v2/%s/blobs/uploads/%s", name, id))
		w.Header().Set("Range", "0-0")
		w.Header().Set("Docker-Upload-UUID", id)
		w.WriteHeader(http.StatusAccepted)
	case uploadRE.MatchString(p) && (req.Method == http.MethodPatch || req.Method == http.MethodPut):
		m := uploadRE.FindStringSubmatch(p)
		data := append(r.uploads[m[2]], body...)
		if req.Method == http.MethodPatch {
			r.uploads[m[2]] = data
			w.Header().Set("Location", p)
			w.Header().Set("Range", fmt.Sprintf("0-%d", len(data)-1))
			w.WriteHeader(http.StatusAccepted)
			return
		}
		digest := req.URL.Query().Get("digest")
		sum := sha256.Sum256(data)
		if digest != "sha256:"+hex.EncodeToString(sum[:]) {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		delete(r.uploads, m[2])
		r.blobs[digest] = data
		w.Header().Set("Location", fmt.Sprintf("/v2/%s/blobs/%s", m[1], digest))
		w.Header().Set("Docker-Content-Digest", digest)
		w.WriteHeader(http.StatusCreated)
	case manifestRE.MatchString(p):
		m := manifestRE.FindStringSubmatch(p)
		key := m[1] + ":" + m[2]
		if req.Method == http.MethodPut {
			r.manifests[key] = body
			sum := sha256.Sum256(body)
			w.Header().Set("Docker-Content-Digest", "sha256:"+hex.EncodeToString(sum[:]))
			w.WriteHeader(http.StatusCreated)
			return
		}
		w.WriteHeader(http.StatusNotFound)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// load --registry --push: every image reaches the mirror under its name
// and tag there.
func TestEnginePushToMirror(t *testing.T) {
	needEngine(t)
	ctx := context.Background()
	reg := &pushRegistry{blobs: map[string][]byte{}, uploads: map[string][]byte{}, manifests: map[string][]byte{}}
	srv := httptest.NewServer(reg)
	defer srv.Close()
	mirror := strings.TrimPrefix(srv.URL, "http://") + "/site"

	e := newEngine(t)
	d := renderDeployment(t, "projectName=dfc-push")
	var mirrored []string
	for _, r := range d.Images.List() {
		mirrored = append(mirrored, bundle.MirrorRef(mirror, r))
	}
	buildStandins(t, e, d, mirrored...)
	file := filepath.Join(t.TempDir(), "b.tar.zst")
	if _, err := bundle.Save(ctx, bundle.SaveOptions{Dir: d.Dir, Out: file, Engine: e}); err != nil {
		t.Fatal(err)
	}
	removeImages(t, e, d.Images.List())
	var log strings.Builder
	res, err := bundle.Load(ctx, bundle.LoadOptions{File: file, OutDir: filepath.Join(t.TempDir(), "d"), Engine: e,
		Registry: mirror, Push: true, Progress: bundle.Progress{W: &log}})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	for _, r := range d.Images.List() {
		m := res.Mirrored[r]
		name, tag, _ := strings.Cut(strings.TrimPrefix(m, strings.TrimPrefix(srv.URL, "http://")+"/"), ":")
		if _, ok := reg.manifests[name+":"+tag]; !ok {
			t.Errorf("%s was not pushed as %s (registry has %d manifests)", r, m, len(reg.manifests))
		}
	}
	if len(reg.blobs) < 3 {
		t.Errorf("registry holds %d blobs; want the layers and configs", len(reg.blobs))
	}
}
