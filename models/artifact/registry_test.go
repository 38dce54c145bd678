package artifact

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/routekit/routekit/models/encoder"
)

func regBlobs(tag string) map[string][]byte {
	return map[string][]byte{"scorer.bin": []byte("weights " + tag), "encoder.bin": []byte("encoder " + tag)}
}

func mustAdd(t *testing.T, r *Registry, name string) Version {
	t.Helper()
	v, err := r.Add(name, sample(), regBlobs(name))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func currentID(t *testing.T, r *Registry, name string) string {
	t.Helper()
	v, err := r.Current(name)
	if err != nil {
		t.Fatal(err)
	}
	return v.ID
}

func ids(vs []Version) string {
	var s []string
	for _, v := range vs {
		s = append(s, v.ID)
	}
	return strings.Join(s, ",")
}

func TestRegistryAddPromoteRollback(t *testing.T) {
	root := filepath.Join(t.TempDir(), "reg")
	r, err := OpenRegistry(root)
	if err != nil {
		t.Fatal(err)
	}
	if names, err := r.Names(); err != nil || len(names) != 0 {
		t.Fatalf("a missing root: names %v, %v", names, err)
	}
	if _, err := r.Versions("qa"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("versions of an unknown router: %v, want fs.ErrNotExist", err)
	}

	v1 := mustAdd(t, r, "qa")
	if v1.ID != "v1" || !v1.Current || v1.Dir != filepath.Join(r.Root(), "qa", "v1") || v1.Router != "knn" || v1.Err != nil {
		t.Fatalf("first version %+v: want v1, current", v1)
	}
	v2 := mustAdd(t, r, "qa")
	mustAdd(t, r, "qa")
	mustAdd(t, r, "chat")
	if v2.ID != "v2" || v2.Current {
		t.Errorf("second version %+v: want v2, not current", v2)
	}
	if names, _ := r.Names(); strings.Join(names, ",") != "chat,qa" {
		t.Errorf("names %v", names)
	}
	vs, err := r.Versions("qa")
	if err != nil {
		t.Fatal(err)
	}
	if ids(vs) != "v1,v2,v3" || !vs[0].Current || vs[1].Current || vs[2].Current || !vs[2].Created.Equal(sample().Created) {
		t.Errorf("versions %+v", vs)
	}
	if _, _, err := Read(vs[2].Dir); err != nil {
		t.Errorf("a registry version does not read: %v", err)
	}

	if err := r.Promote("qa", "v2"); err != nil {
		t.Fatal(err)
	}
	if err := r.Promote("qa", "v3"); err != nil {
		t.Fatal(err)
	}
	if got := currentID(t, r, "qa"); got != "v3" {
		t.Errorf("current %s after promoting v3", got)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "qa", CurrentFile)); string(b) != "v3\n" {
		t.Errorf("CURRENT holds %q", b)
	}
	// Rollback walks back the promotions: v3 -> v2 -> v1, then refuses.
	for _, want := range []string{"v2", "v1"} {
		v, err := r.Rollback("qa")
		if err != nil {
			t.Fatal(err)
		}
		if v.ID != want || !v.Current || currentID(t, r, "qa") != want {
			t.Errorf("rollback gave %s (current %s), want %s", v.ID, currentID(t, r, "qa"), want)
		}
	}
	if _, err := r.Rollback("qa"); err == nil || !strings.Contains(err.Error(), "no version promoted before v1") {
		t.Errorf("rollback past the first promotion: %v", err)
	}
	if got := currentID(t, r, "qa"); got != "v1" {
		t.Errorf("a refused rollback moved CURRENT to %s", got)
	}
	evs, err := r.History("qa")
	if err != nil {
		t.Fatal(err)
	}
	var acts []string
	for _, e := range evs {
		acts = append(acts, e.Action+" "+e.Version)
	}
	want := "add v1,promote v1,add v2,add v3,promote v2,promote v3,rollback v2,rollback v1"
	if strings.Join(acts, ",") != want {
		t.Errorf("history %q\nwant    %q", strings.Join(acts, ","), want)
	}
	if evs[5].From != "v2" || evs[6].From != "v3" {
		t.Errorf("history from: %+v", evs)
	}
	// Promoting the current version changes nothing.
	if err := r.Promote("qa", "v1"); err != nil {
		t.Fatal(err)
	}
	if evs2, _ := r.History("qa"); len(evs2) != len(evs) {
		t.Errorf("promoting the current version added %d events", len(evs2)-len(evs))
	}
}

func TestRegistryRollbackSkipsRemoved(t *testing.T) {
	r, _ := OpenRegistry(t.TempDir())
	for i := 0; i < 3; i++ {
		mustAdd(t, r, "qa")
	}
	for _, id := range []string{"v2", "v3"} {
		if err := r.Promote("qa", id); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.RemoveAll(filepath.Join(r.Root(), "qa", "v2")); err != nil {
		t.Fatal(err)
	}
	if to, _ := r.RollbackTarget("qa"); to != "v1" {
		t.Errorf("rollback target %q with v2 gone, want v1", to)
	}
	if v, err := r.Rollback("qa"); err != nil || v.ID != "v1" {
		t.Errorf("rollback with v2 gone: %+v, %v; want v1", v, err)
	}
}

func TestRegistryRefusesBadNames(t *testing.T) {
	root := t.TempDir()
	r, _ := OpenRegistry(root)
	for _, name := range []string{"", "..", "../x", "a/b", "Qa", ".hidden", "-x", strings.Repeat("a", 65), "a\x00"} {
		if _, err := r.Add(name, sample(), regBlobs("x")); err == nil || !strings.Contains(err.Error(), "router name") {
			t.Errorf("Add(%q): %v, want a router name error", name, err)
		}
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Errorf("refused names left %d entries in the root", len(entries))
	}
	mustAdd(t, r, "qa")
	// A failed write leaves no version, no debris, and CURRENT as it was.
	if _, err := r.Add("qa", sample(), map[string][]byte{"Scorer.bin": nil}); err == nil || !strings.Contains(err.Error(), "bad blob name") {
		t.Errorf("add with a bad blob name: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "qa")); len(entries) != 3 { // v1, CURRENT, HISTORY
		t.Errorf("after a failed add: %d entries, want 3", len(entries))
	}
	for _, id := range []string{"", "1", "v0", "v01", "../v1", "v1/..", "V1", "v2"} {
		if err := r.Promote("qa", id); err == nil {
			t.Errorf("Promote(%q) succeeded", id)
		}
	}
	if _, err := OpenRegistry(""); err == nil {
		t.Error("an empty root opened")
	}
	file := filepath.Join(root, "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := OpenRegistry(file); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("a file as root: %v", err)
	}
}

func TestRegistryRefusesCorruptAndNewerVersions(t *testing.T) {
	r, _ := OpenRegistry(t.TempDir())
	for i := 0; i < 4; i++ {
		mustAdd(t, r, "qa")
	}
	dir := filepath.Join(r.Root(), "qa")
	// v2: a blob changed after writing.
	if err := os.WriteFile(filepath.Join(dir, "v2", "scorer.bin"), []byte("weights qX"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := r.Promote("qa", "v2")
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "blob scorer.bin") {
		t.Errorf("promoting a corrupt blob: %v, want ErrCorrupt naming scorer.bin", err)
	}
	// v3: a format version newer than this binary's.
	mp := filepath.Join(dir, "v3", ManifestFile)
	mb, _ := os.ReadFile(mp)
	mb = []byte(strings.Replace(string(mb), `"format_version": 1`, fmt.Sprintf(`"format_version": %d`, FormatVersion+1), 1))
	if err := os.WriteFile(mp, mb, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.Promote("qa", "v3"); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "format version 2") {
		t.Errorf("promoting a newer format: %v, want ErrFormat", err)
	}
	// v4: a manifest that is not JSON.
	if err := os.WriteFile(filepath.Join(dir, "v4", ManifestFile), []byte("{\"format_ver"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.Promote("qa", "v4"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("promoting a truncated manifest: %v, want ErrCorrupt", err)
	}
	if got := currentID(t, r, "qa"); got != "v1" {
		t.Errorf("refused promotions moved CURRENT to %s", got)
	}
	// Listing still works and says what is wrong with each.
	vs, err := r.Versions("qa")
	if err != nil {
		t.Fatal(err)
	}
	if ids(vs) != "v1,v2,v3,v4" || vs[1].Err != nil || !errors.Is(vs[2].Err, ErrFormat) || !errors.Is(vs[3].Err, ErrCorrupt) || vs[3].Manifest != nil {
		t.Errorf("versions %+v", vs)
	}
	// A rollback to a corrupt version is refused too.
	if err := r.Promote("qa", "v1"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, CurrentFile), []byte("v2\n"), 0o644) // as if promoted before the damage
	os.WriteFile(filepath.Join(dir, "v1", "encoder.bin"), nil, 0o644)
	if _, err := r.Rollback("qa"); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "encoder.bin") {
		t.Errorf("rollback to a corrupt version: %v", err)
	}
	// A CURRENT that is not a version id is an error, not a path.
	os.WriteFile(filepath.Join(dir, CurrentFile), []byte("../../etc\n"), 0o644)
	if _, err := r.Current("qa"); err == nil || errors.Is(err, ErrNoCurrent) {
		t.Errorf("a bad CURRENT: %v", err)
	}
}

func TestRegistryNoCurrent(t *testing.T) {
	r, _ := OpenRegistry(t.TempDir())
	// A version put there by hand, never promoted.
	if err := Write(filepath.Join(r.Root(), "qa", "v1"), sample(), regBlobs("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Current("qa"); !errors.Is(err, ErrNoCurrent) {
		t.Errorf("current without CURRENT: %v, want ErrNoCurrent", err)
	}
	if _, err := r.Rollback("qa"); !errors.Is(err, ErrNoCurrent) {
		t.Errorf("rollback without CURRENT: %v, want ErrNoCurrent", err)
	}
	if _, err := r.Current("nope"); !errors.Is(err, ErrNoCurrent) {
		t.Errorf("current of an unknown router: %v, want ErrNoCurrent", err)
	}
	v := mustAdd(t, r, "qa")
	if v.ID != "v2" || !v.Current {
		t.Errorf("add without CURRENT: %+v, want v2 promoted", v)
	}
}

// Concurrent Adds never share a version id nor lose an artifact, and
// exactly one of them promotes.
func TestRegistryConcurrentAdd(t *testing.T) {
	r, _ := OpenRegistry(filepath.Join(t.TempDir(), "reg"))
	const workers, each = 6, 4
	var wg sync.WaitGroup
	got := make(chan Version, workers*each)
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				tag := fmt.Sprintf("w%d-%d", w, i)
				v, err := r.Add("qa", sample(), regBlobs(tag))
				if err != nil {
					errs <- err
					continue
				}
				got <- v
			}
		}()
	}
	wg.Wait()
	close(got)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	seen := map[string]bool{}
	current := 0
	for v := range got {
		if seen[v.ID] {
			t.Errorf("version %s handed out twice", v.ID)
		}
		seen[v.ID] = true
		if v.Current {
			current++
		}
	}
	vs, err := r.Versions("qa")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != workers*each || len(seen) != workers*each || vs[len(vs)-1].ID != fmt.Sprintf("v%d", workers*each) {
		t.Fatalf("%d versions on disk (%s), %d returned; want %d", len(vs), ids(vs), len(seen), workers*each)
	}
	contents := map[string]bool{}
	for _, v := range vs {
		_, blobs, err := Read(v.Dir)
		if err != nil {
			t.Fatal(err)
		}
		contents[string(blobs["scorer.bin"])] = true
	}
	if len(contents) != workers*each {
		t.Errorf("%d distinct artifacts on disk, want %d: one clobbered another", len(contents), workers*each)
	}
	if current != 1 {
		t.Errorf("%d Adds report promoting, want 1", current)
	}
	if _, err := r.Current("qa"); err != nil {
		t.Error(err)
	}
	entries, _ := os.ReadDir(filepath.Join(r.Root(), "qa"))
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("leftover %s", e.Name())
		}
	}
	evs, _ := r.History("qa")
	if len(evs) != workers*each+1 {
		t.Errorf("%d history events, want %d adds and 1 promote", len(evs), workers*each)
	}
}

func TestRegistryIgnoresDebrisAndGC(t *testing.T) {
	r, _ := OpenRegistry(t.TempDir())
	for i := 0; i < 5; i++ {
		mustAdd(t, r, "qa")
	}
	dir := filepath.Join(r.Root(), "qa")
	// Debris of a crashed Write, an old and a fresh one, and unknown entries.
	old := filepath.Join(dir, "v6.tmp-123")
	fresh := filepath.Join(dir, "v6.tmp-456")
	for _, d := range []string{old, fresh, filepath.Join(dir, "V7"), filepath.Join(dir, "v7x"), filepath.Join(r.Root(), "Bad"), filepath.Join(r.Root(), "empty")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(old, ManifestFile), []byte("{"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hi"), 0o644)
	twoHours := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(old, twoHours, twoHours); err != nil {
		t.Fatal(err)
	}
	if vs, _ := r.Versions("qa"); ids(vs) != "v1,v2,v3,v4,v5" {
		t.Errorf("versions with debris: %s", ids(vs))
	}
	if names, _ := r.Names(); strings.Join(names, ",") != "qa" {
		t.Errorf("names with debris: %v", names)
	}
	// CURRENT v3, promoted after v1: GC keeping 1 keeps v5, v3 and v1.
	if err := r.Promote("qa", "v3"); err != nil {
		t.Fatal(err)
	}
	plan, err := r.GCPlan("qa", 1)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(plan, ",") != "v2,v4,v6.tmp-123" {
		t.Errorf("gc plan %v", plan)
	}
	if vs, _ := r.Versions("qa"); len(vs) != 5 {
		t.Errorf("GCPlan removed something: %s", ids(vs))
	}
	removed, err := r.GC("qa", 1)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(removed, ",") != strings.Join(plan, ",") {
		t.Errorf("gc removed %v, planned %v", removed, plan)
	}
	if vs, _ := r.Versions("qa"); ids(vs) != "v1,v3,v5" || currentID(t, r, "qa") != "v3" {
		t.Errorf("after gc: %s, current %s", ids(vs), currentID(t, r, "qa"))
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("gc removed a fresh temporary folder: %v", err)
	}
	if _, err := r.Rollback("qa"); err != nil {
		t.Errorf("rollback after gc: %v", err)
	}
	// Ids are never reused, even when GC removed the newest. After the
	// rollback to v1 there is nothing earlier to protect.
	if removed, err := r.GC("qa", 0); err != nil || strings.Join(removed, ",") != "v3,v5" {
		t.Errorf("gc keep 0 with v1 current: removed %v, %v; want v3,v5", removed, err)
	}
	if v := mustAdd(t, r, "qa"); v.ID != "v6" {
		t.Errorf("add after removing v5 gave %s, want v6", v.ID)
	}
	if _, err := r.GC("qa", -1); err == nil {
		t.Error("gc with keep -1 succeeded")
	}
}

// BenchmarkRegistryAdd measures adding a small version (two tiny blobs;
// every file and folder fsynced).
func BenchmarkRegistryAdd(b *testing.B) {
	r, _ := OpenRegistry(b.TempDir())
	blobs := regBlobs("bench")
	for b.Loop() {
		if _, err := r.Add("qa", sample(), blobs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRegistryCurrent measures what a hot-reload watcher polls:
// reading CURRENT and the current version's manifest, among 50 versions.
func BenchmarkRegistryCurrent(b *testing.B) {
	r, _ := OpenRegistry(b.TempDir())
	for i := 0; i < 50; i++ {
		if _, err := r.Add("qa", sample(), regBlobs("bench")); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if _, err := r.Current("qa"); err != nil {
			b.Fatal(err)
		}
	}
}

// crashRootEnv tells the test binary, started by TestRegistryKilledMidWrite,
// to add versions under this root until it is killed.
const crashRootEnv = "ROUTEKIT_TEST_REGISTRY_CRASH_ROOT"

func TestRegistryCrashChild(t *testing.T) {
	root := os.Getenv(crashRootEnv)
	if root == "" {
		t.Skip("run by TestRegistryKilledMidWrite")
	}
	r, err := OpenRegistry(root)
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 4<<20) // long enough writes to be killed in one
	for i := 0; ; i++ {
		big[i%len(big)]++
		v, err := r.Add("qa", sample(), map[string][]byte{"scorer.bin": big, "encoder.bin": []byte("e")})
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 {
			if err := r.Promote("qa", v.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// A process killed while adding and promoting never leaves a visible
// version that does not read, nor a CURRENT that does not resolve. (A
// kill between the first version's rename and its promotion leaves no
// CURRENT, so the test starts with one.)
func TestRegistryKilledMidWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	r, _ := OpenRegistry(root)
	mustAdd(t, r, "qa")
	for round := 0; round < 3; round++ {
		before, _ := r.Versions("qa")
		cmd := exec.Command(exe, "-test.run=^TestRegistryCrashChild$")
		cmd.Env = append(os.Environ(), crashRootEnv+"="+root)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill it once it has added a version: in round 0 right then
		// (promoting or starting the next), later while a write is in
		// progress (a temporary folder exists).
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			vs, _ := r.Versions("qa")
			if len(vs) > len(before) && (round == 0 || hasTemp(t, filepath.Join(root, "qa"))) {
				break
			}
			time.Sleep(200 * time.Microsecond)
		}
		cmd.Process.Kill()
		cmd.Wait()
		vs, err := r.Versions("qa")
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) <= len(before) {
			t.Fatalf("round %d: the child added no version before the deadline", round)
		}
		for _, v := range vs {
			if _, _, err := Read(v.Dir); err != nil {
				t.Errorf("round %d: a visible version does not read: %v", round, err)
			}
		}
		if _, err := r.Current("qa"); err != nil {
			t.Errorf("round %d: %v", round, err)
		}
		t.Logf("round %d: killed after %d versions; temporary entries left: %v", round, len(vs), hasTemp(t, filepath.Join(root, "qa")))
	}
	// The registry goes on: the next Add takes the next id.
	vs, _ := r.Versions("qa")
	if v := mustAdd(t, r, "qa"); idNum(v.ID) <= idNum(vs[len(vs)-1].ID) {
		t.Errorf("add after the crashes gave %s, the last was %s", v.ID, vs[len(vs)-1].ID)
	}
}

func hasTemp(t *testing.T, dir string) bool {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			return true
		}
	}
	return false
}

// TestRegistryRefusesMissingEncoderDir keeps a version whose referenced
// ONNX model directory (train --encoder-ref) is gone from becoming
// CURRENT, by promotion or by rollback, and lets it once the directory is
// back.
func TestRegistryRefusesMissingEncoderDir(t *testing.T) {
	r, err := OpenRegistry(filepath.Join(t.TempDir(), "reg"))
	if err != nil {
		t.Fatal(err)
	}
	encDir := filepath.Join(t.TempDir(), "minilm")
	m := sample()
	m.Encoder = encoder.Identity{Kind: "onnx", Params: map[string]string{"dim": "32"}, Digest: "cd"}
	m.EncoderPath = encDir
	ref := map[string][]byte{"scorer.bin": []byte("weights ref")}
	v1 := mustAdd(t, r, "qa") // CURRENT, a self-contained version
	v2, err := r.Add("qa", m, ref)
	if err != nil {
		t.Fatal(err)
	}

	err = r.Promote("qa", v2.ID)
	if !errors.Is(err, ErrEncoderMissing) || !strings.Contains(err.Error(), "encoder_path") || !strings.Contains(err.Error(), encDir) {
		t.Fatalf("promoting a version whose encoder directory is gone: %v, want ErrEncoderMissing naming encoder_path and %s", err, encDir)
	}
	if got := currentID(t, r, "qa"); got != v1.ID {
		t.Fatalf("CURRENT %s after a refused promotion, want %s", got, v1.ID)
	}

	// With the model directory in place it is promoted; with it gone again,
	// rolling back to it (from v3) is refused too.
	if err := os.MkdirAll(encDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{encoder.ONNXModelFile, encoder.ONNXTokenizerFile} {
		if err := os.WriteFile(filepath.Join(encDir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Promote("qa", v2.ID); err != nil {
		t.Fatalf("promoting with the encoder directory present: %v", err)
	}
	v3, err := r.Add("qa", sample(), regBlobs("v3"))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Promote("qa", v3.ID); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(encDir, encoder.ONNXTokenizerFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Rollback("qa"); !errors.Is(err, ErrEncoderMissing) {
		t.Fatalf("rolling back to a version whose encoder directory lost a file: %v, want ErrEncoderMissing", err)
	}
	if got := currentID(t, r, "qa"); got != v3.ID {
		t.Errorf("CURRENT %s after a refused rollback, want %s", got, v3.ID)
	}
}
