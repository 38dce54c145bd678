package serve

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/routekit/routekit/models/artifact"
	"github.com/routekit/routekit/models/artifact/artifacttest"
	"github.com/routekit/routekit/models/encoder"
	"github.com/routekit/routekit/serve/api"
)

// knnBlobs is a small kNN artifact's manifest and blobs, built once per
// test binary (fitting the encoder is the slow part).
func knnBlobs(t testing.TB) (artifact.Manifest, map[string][]byte) {
	t.Helper()
	m, blobs, err := artifact.Read(artifacttest.KNN(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	return *m, blobs
}

// addVersion adds the kNN artifact as the next version of name;
// the first version of a name is promoted.
func addVersion(t testing.TB, reg *artifact.Registry, name string) artifact.Version {
	t.Helper()
	m, blobs := knnBlobs(t)
	v, err := reg.Add(name, m, blobs)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// corrupt flips a byte of a version's scorer blob, as a bad disk or a
// half copy would: the digest no longer matches.
func corrupt(t testing.TB, v artifact.Version) {
	t.Helper()
	p := filepath.Join(v.Dir, "scorer.bin")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeCurrent points name's CURRENT at id the way the registry does
// (write beside, rename), without the registry's checks.
func writeCurrent(t testing.TB, reg *artifact.Registry, name, id string) {
	t.Helper()
	p := filepath.Join(reg.Root(), name, artifact.CurrentFile)
	if err := os.WriteFile(p+".tmp", []byte(id+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		t.Fatal(err)
	}
}

func loadArtifact(ctx context.Context, dir string) (*artifact.Loaded, error) {
	return artifact.Load(ctx, dir, encoder.ONNXConfig{})
}

func newRegistry(t testing.TB) *artifact.Registry {
	t.Helper()
	reg, err := artifact.OpenRegistry(filepath.Join(t.TempDir(), "registry"))
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// routeVersion routes a prompt and returns the version that answered.
func routeVersion(t testing.TB, h http.Handler, body string) (int, api.RouteResponse) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/route", strings.NewReader(body)))
	var r api.RouteResponse
	if rec.Code == 200 {
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
	}
	return rec.Code, r
}

func results(rs []ReloadResult) map[string]ReloadResult {
	out := map[string]ReloadResult{}
	for _, r := range rs {
		out[r.Router] = r
	}
	return out
}

func TestReloadPromotionAndBadVersion(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t)
	addVersion(t, reg, "knn")
	s := New(Config{}, nil)
	rl := NewReloader(s, reg, loadArtifact)
	h := s.Handler()

	res, err := rl.Reload(ctx, false)
	if err != nil || len(res) != 1 || res[0].Result != ReloadLoaded || res[0].Serving != "v1" {
		t.Fatalf("first reload: %+v %v", res, err)
	}
	if code, r := routeVersion(t, h, `{"prompt":"what is 4 plus 9"}`); code != 200 || r.Version != "v1" || r.Model != "cheap" {
		t.Fatalf("route: %d %+v", code, r)
	}
	if res, _ := rl.Reload(ctx, false); res[0].Result != ReloadUnchanged {
		t.Errorf("reload without a change: %+v", res)
	}

	// A promoted v2 is picked up; the v1 info series is gone.
	v2 := addVersion(t, reg, "knn")
	if err := reg.Promote("knn", v2.ID); err != nil {
		t.Fatal(err)
	}
	if res, _ := rl.Reload(ctx, false); res[0].Result != ReloadLoaded || res[0].Serving != "v2" {
		t.Fatalf("reload after promoting v2: %+v", res)
	}
	if _, r := routeVersion(t, h, `{"prompt":"what is 4 plus 9"}`); r.Version != "v2" {
		t.Errorf("served %q after the reload, want v2", r.Version)
	}
	if err := testutil.CollectAndCompare(s.metrics.routerInfo, strings.NewReader(`
# HELP routekit_router_info 1 for the version and kind of every served router.
# TYPE routekit_router_info gauge
routekit_router_info{kind="knn",router="knn",version="v2"} 1
`)); err != nil {
		t.Error(err)
	}

	// v3 is promoted, then its blob rots before the server loads it:
	// refused, counted, shown, and v2 keeps serving.
	v3 := addVersion(t, reg, "knn")
	if err := reg.Promote("knn", v3.ID); err != nil {
		t.Fatal(err)
	}
	corrupt(t, v3)
	res, err = rl.Reload(ctx, false)
	if err != nil || res[0].Result != ReloadFailed || res[0].Serving != "v2" || !strings.Contains(res[0].Error, "scorer.bin") {
		t.Fatalf("reload of a corrupt v3: %+v %v", res, err)
	}
	if _, r := routeVersion(t, h, `{"prompt":"what is 4 plus 9"}`); r.Version != "v2" {
		t.Errorf("served %q after refusing v3, want v2", r.Version)
	}
	if got := testutil.ToFloat64(s.metrics.reloadFailures.WithLabelValues("knn")); got != 1 {
		t.Errorf("reload failures %v, want 1", got)
	}
	infos := s.routerInfos()
	if len(infos) != 1 || infos[0].Version != "v2" || infos[0].LastErrorVersion != "v3" || !strings.Contains(infos[0].LastError, "scorer.bin") {
		t.Errorf("routers after refusing v3: %+v", infos)
	}
	// The same bad version is not retried by the watch, only when forced.
	if res, _ := rl.Reload(ctx, false); res[0].Result != ReloadSkipped || res[0].Error == "" {
		t.Errorf("second reload of v3: %+v", res)
	}
	if got := testutil.ToFloat64(s.metrics.reloadFailures.WithLabelValues("knn")); got != 1 {
		t.Errorf("reload failures %v after a skip, want 1", got)
	}
	if res, _ := rl.Reload(ctx, true); res[0].Result != ReloadFailed {
		t.Errorf("forced reload of v3: %+v", res)
	}
	if got := testutil.ToFloat64(s.metrics.reloadFailures.WithLabelValues("knn")); got != 2 {
		t.Errorf("reload failures %v after a forced retry, want 2", got)
	}

	// Rolled back to v2 and forward to v3 again: CURRENT changed, so v3
	// is tried again.
	if err := reg.Promote("knn", "v2"); err != nil {
		t.Fatal(err)
	}
	if res, _ := rl.Reload(ctx, false); res[0].Result != ReloadUnchanged {
		t.Errorf("reload after the rollback to v2: %+v", res)
	}
	writeCurrent(t, reg, "knn", v3.ID) // Promote would refuse the corrupt v3
	if res, _ := rl.Reload(ctx, false); res[0].Result != ReloadFailed {
		t.Errorf("reload of v3 after CURRENT moved back to it: %+v", res)
	}
	if got := testutil.ToFloat64(s.metrics.reloadFailures.WithLabelValues("knn")); got != 3 {
		t.Errorf("reload failures %v, want 3", got)
	}

	// A good v4 clears the error.
	v4 := addVersion(t, reg, "knn")
	if err := reg.Promote("knn", v4.ID); err != nil {
		t.Fatal(err)
	}
	if res, _ := rl.Reload(ctx, false); res[0].Result != ReloadLoaded || res[0].Serving != "v4" {
		t.Fatalf("reload of v4: %+v", res)
	}
	if infos := s.routerInfos(); infos[0].Version != "v4" || infos[0].LastError != "" {
		t.Errorf("routers after v4: %+v", infos)
	}
	if got := testutil.ToFloat64(s.metrics.reloads.WithLabelValues("knn", "ok")); got != 3 {
		t.Errorf("ok reloads %v, want 3 (v1, v2, v4)", got)
	}
}

func TestReloadSeveralRouters(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t)
	addVersion(t, reg, "alpha")
	addVersion(t, reg, "beta")
	bad := addVersion(t, reg, "gamma")
	corrupt(t, bad)

	s := New(Config{}, nil)
	rl := NewReloader(s, reg, loadArtifact)
	h := s.Handler()
	res, err := rl.Reload(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	got := results(res)
	if got["alpha"].Result != ReloadLoaded || got["beta"].Result != ReloadLoaded || got["gamma"].Result != ReloadFailed {
		t.Fatalf("results: %+v", res)
	}
	// Two routers and no configured default: a request must name one.
	if code, _ := routeVersion(t, h, `{"prompt":"hi"}`); code != http.StatusBadRequest {
		t.Errorf("no router named with two served: %d", code)
	}
	if code, r := routeVersion(t, h, `{"router":"beta","prompt":"hi"}`); code != 200 || r.Router != "beta" {
		t.Errorf("router beta: %d %+v", code, r)
	}
	// gamma never loaded: listed with its error, not routable.
	infos := s.routerInfos()
	if len(infos) != 3 || infos[2].Name != "gamma" || infos[2].Version != "" || infos[2].LastError == "" {
		t.Errorf("routers: %+v", infos)
	}
	if code, _ := routeVersion(t, h, `{"router":"gamma","prompt":"hi"}`); code != http.StatusNotFound {
		t.Errorf("router gamma: %d", code)
	}

	// A configured default.
	s2 := New(Config{DefaultRouter: "beta"}, nil)
	if _, err := NewReloader(s2, reg, loadArtifact).Reload(ctx, false); err != nil {
		t.Fatal(err)
	}
	if code, r := routeVersion(t, s2.Handler(), `{"prompt":"hi"}`); code != 200 || r.Router != "beta" {
		t.Errorf("default beta: %d %+v", code, r)
	}

	// A router removed from the registry keeps serving.
	if err := os.RemoveAll(filepath.Join(reg.Root(), "alpha")); err != nil {
		t.Fatal(err)
	}
	res, err = rl.Reload(ctx, false)
	if err != nil || results(res)["alpha"].Result != ReloadRemoved {
		t.Fatalf("after removing alpha: %+v %v", res, err)
	}
	if code, r := routeVersion(t, h, `{"router":"alpha","prompt":"hi"}`); code != 200 || r.Version != "v1" {
		t.Errorf("removed alpha: %d %+v", code, r)
	}
}

func TestReloadCanceled(t *testing.T) {
	reg := newRegistry(t)
	addVersion(t, reg, "knn")
	s := New(Config{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	rl := NewReloader(s, reg, func(ctx context.Context, dir string) (*artifact.Loaded, error) {
		cancel() // the caller gives up while loading
		return nil, ctx.Err()
	})
	if _, err := rl.Reload(ctx, false); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled reload: %v", err)
	}
	// Not the version's fault: no failure recorded, retried next time.
	if n := testutil.ToFloat64(s.metrics.reloadFailures.WithLabelValues("knn")); n != 0 {
		t.Errorf("failures %v after a cancel", n)
	}
	rl.load = loadArtifact
	if res, err := rl.Reload(context.Background(), false); err != nil || res[0].Result != ReloadLoaded {
		t.Errorf("reload after a cancel: %+v %v", res, err)
	}
}

// TestWatch promotes a version and waits for the watch loop to serve it,
// then checks the loop stops with its context.
func TestWatch(t *testing.T) {
	reg := newRegistry(t)
	addVersion(t, reg, "knn")
	s := New(Config{WatchInterval: 5 * time.Millisecond}, nil)
	rl := NewReloader(s, reg, loadArtifact)
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := rl.Reload(ctx, false); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { rl.Watch(ctx); close(done) }()
	v2 := addVersion(t, reg, "knn")
	if err := reg.Promote("knn", v2.ID); err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, r := routeVersion(t, h, `{"prompt":"hi"}`); r.Version == "v2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the watch did not serve v2")
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Watch did not stop with its context")
	}
}

func TestAdmin(t *testing.T) {
	reg := newRegistry(t)
	addVersion(t, reg, "knn")

	// No token configured: 403 saying how to enable.
	s := New(Config{}, nil)
	NewReloader(s, reg, loadArtifact)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("POST", "/admin/reload", nil))
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "admin_token") {
		t.Errorf("without a token configured: %d %s", rec.Code, rec.Body)
	}

	s = New(Config{AdminToken: "s3cret"}, nil)
	rl := NewReloader(s, reg, loadArtifact)
	h := s.Handler()
	for _, c := range []struct {
		name, method, path, auth string
		code                     int
	}{
		{"no header", "POST", "/admin/reload", "", 401},
		{"wrong token", "POST", "/admin/reload", "Bearer s3cre", 401},
		{"longer token", "POST", "/admin/reload", "Bearer s3cret2", 401},
		{"basic auth", "POST", "/admin/reload", "Basic czNjcmV0Og==", 401},
		{"empty bearer", "POST", "/admin/reload", "Bearer ", 401},
		{"status without token", "GET", "/admin/status", "", 401},
		{"reload", "POST", "/admin/reload", "Bearer s3cret", 200},
		{"scheme case", "POST", "/admin/reload", "bearer s3cret", 200},
		{"status", "GET", "/admin/status", "Bearer s3cret", 200},
		{"reload by GET", "GET", "/admin/reload", "Bearer s3cret", 404},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(c.method, c.path, nil)
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != c.code {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.code, rec.Body)
			}
			if c.code == 401 && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate %q", rec.Header().Get("WWW-Authenticate"))
			}
			if c.code != 200 {
				var e api.Error
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
					t.Errorf("error body %s", rec.Body)
				}
			}
		})
	}

	// An admin reload retries a refused version and reports it: 422.
	v2 := addVersion(t, reg, "knn")
	if err := reg.Promote("knn", v2.ID); err != nil {
		t.Fatal(err)
	}
	corrupt(t, v2)
	if res, _ := rl.Reload(context.Background(), false); res[0].Result != ReloadFailed {
		t.Fatalf("reload of a corrupt v2: %+v", res)
	}
	req := httptest.NewRequest("POST", "/admin/reload", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var body struct {
		Error   api.ErrorBody  `json:"error"`
		Results []ReloadResult `json:"results"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusUnprocessableEntity ||
		body.Error.Code != "reload_failed" || len(body.Results) != 1 || body.Results[0].Result != ReloadFailed || body.Results[0].Serving != "v1" {
		t.Errorf("admin reload of a corrupt v2: %d %s", rec.Code, rec.Body)
	}

	// A standalone artifact has nothing to reload: 409.
	s = New(Config{AdminToken: "s3cret"}, nil)
	s.Set(&Route{Name: "knn", Version: "v1", Loaded: testArtifact(t)}, true)
	req = httptest.NewRequest("POST", "/admin/reload", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusConflict {
		t.Errorf("admin reload without a registry: %d %s", rec.Code, rec.Body)
	}
}

// FuzzAdmin sends arbitrary Authorization headers and bodies to the admin
// endpoints: only the exact token passes, and every refusal is a JSON
// 401.
func FuzzAdmin(f *testing.F) {
	const token = "tok-123"
	s := New(Config{AdminToken: token}, nil)
	s.Set(&Route{Name: "knn", Version: "v1", Loaded: testArtifact(f)}, true)
	h := s.Handler()
	for _, seed := range []string{"", "Bearer tok-123", "Bearer tok-1234", "bearer  tok-123 ", "Basic dG9rLTEyMw==", "Bearer", "Bearer \x00", "Bearer tok-123\r\n"} {
		f.Add(seed, `{}`)
	}
	f.Fuzz(func(t *testing.T, auth, body string) {
		for _, ep := range []struct{ method, path string }{{"POST", "/admin/reload"}, {"GET", "/admin/status"}} {
			req := httptest.NewRequest(ep.method, ep.path, strings.NewReader(body))
			req.Header["Authorization"] = []string{auth}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			tok, ok := bearerToken(auth)
			authorized := ok && tok == token
			switch {
			case rec.Code >= 500:
				t.Fatalf("%s %q: status %d %s", ep.path, auth, rec.Code, rec.Body)
			case authorized && rec.Code == 401, !authorized && rec.Code != 401:
				t.Fatalf("%s %q: status %d", ep.path, auth, rec.Code)
			}
			if rec.Code != 200 {
				var e api.Error
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" {
					t.Fatalf("%s %q: status %d with body %s", ep.path, auth, rec.Code, rec.Body)
				}
			}
		}
	})
}

// flakySource is a Source whose listing fails while err is set.
type flakySource struct {
	*artifact.Registry
	err error
}

func (f *flakySource) Names() ([]string, error) {
	if f.err != nil {
		return nil, f.err
	}
	return f.Registry.Names()
}

// TestReloadListError: a registry that cannot be listed fails the reload
// and the routers loaded keep serving.
func TestReloadListError(t *testing.T) {
	reg := newRegistry(t)
	addVersion(t, reg, "knn")
	src := &flakySource{Registry: reg}
	s := New(Config{}, nil)
	rl := NewReloader(s, src, loadArtifact)
	if _, err := rl.Reload(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	src.err = errors.New("permission denied")
	if _, err := rl.Reload(context.Background(), false); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("reload of an unlistable registry: %v", err)
	}
	if code, r := routeVersion(t, s.Handler(), `{"prompt":"hi"}`); code != 200 || r.Version != "v1" {
		t.Errorf("route after a failed listing: %d %+v", code, r)
	}
}
