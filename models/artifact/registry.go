package artifact

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Registry file names inside a router's folder.
const (
	CurrentFile = "CURRENT"
	HistoryFile = "HISTORY"
)

// StaleAfter is the age after which GC removes temporary entries
// (*.tmp-*): older than any write in progress.
const StaleAfter = time.Hour

// ErrNoCurrent means a router name has no promoted (CURRENT) version.
var ErrNoCurrent = errors.New("no current version")

// Event actions recorded in HISTORY.
const (
	ActionAdd      = "add"
	ActionPromote  = "promote"
	ActionRollback = "rollback"
	ActionRemove   = "remove"
)

// Event is one line of a router's HISTORY.
type Event struct {
	Time    time.Time `json:"time"`
	Action  string    `json:"action"` // add, promote, rollback or remove
	Version string    `json:"version"`
	// From is the version that was CURRENT before a promote or rollback.
	From string `json:"from,omitempty"`
}

var (
	routerName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	versionID  = regexp.MustCompile(`^v[1-9][0-9]{0,8}$`)
)

// CheckName returns an error unless name is a valid router name.
func CheckName(name string) error {
	if !routerName.MatchString(name) {
		return fmt.Errorf("router name %q: want 1 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit", name)
	}
	return nil
}

func checkID(id string) error {
	if !versionID.MatchString(id) {
		return fmt.Errorf("version %q: want v and a positive number, like v3", id)
	}
	return nil
}

func idNum(id string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(id, "v"))
	return n
}

// Registry is a folder of versioned artifacts of named routers. Its
// methods are safe for concurrent use, also by several processes.
//
// # Registry layout
//
//	ROOT/NAME/v1/        an artifact (see Write), immutable
//	ROOT/NAME/v2/
//	ROOT/NAME/CURRENT    the promoted version's id and a newline ("v2\n")
//	ROOT/NAME/HISTORY    JSON lines, one Event per add, promote, rollback
//	                     and remove
//	ROOT/NAME/*.tmp-*    work in progress or debris of a crash; ignored
//
// Router names match ^[a-z0-9][a-z0-9._-]{0,63}$ (so no name can reach
// outside ROOT); version ids are "v" and a positive number, numbered in
// order and never reused: Add takes one more than the highest id found in
// the folder or in HISTORY (so an id removed by GC is not handed out
// again while HISTORY is kept). Any other entry of ROOT or ROOT/NAME is ignored.
//
// Add writes with Write, which builds the artifact in a temporary folder
// and renames it into place, so a crash never leaves a half version
// visible. Two Adds racing for the same id do not clobber each other:
// the rename of the loser fails because the folder exists and it retries
// with the next id. The first version of a name is promoted by Add; later
// ones by Promote, which first reads the version in full (format version,
// every blob's size and SHA-256) and refuses it if it does not read
// cleanly. CURRENT is replaced atomically (written beside, synced,
// renamed, the folder synced); an Add that finds no CURRENT creates it
// with a hard link, which fails if another Add got there first. (A crash
// between the first version's rename and that link leaves a version and
// no CURRENT: Current says ErrNoCurrent until one is promoted.)
//
// Rollback uses HISTORY as a stack of promotions: a promote pushes, a
// rollback pops back to the version before the current one that is still
// present. So promoting v1, v2, v3 and rolling back twice gives v2, then
// v1; a version rolled back from is no longer a rollback target (promote
// it to go forward again). A line of HISTORY that does not parse (a torn
// write) is skipped.
//
// GC keeps the newest versions, CURRENT and the rollback target, and
// removes the rest by renaming each into a temporary name first (so a
// reader never sees a half-removed version); it also removes temporary
// entries older than an hour (StaleAfter). The registry takes no locks:
// a version promoted while GC runs is re-checked just before each
// removal, but readers are expected to load CURRENT, which GC never
// removes.
type Registry struct {
	root string
}

// Version is one artifact version of a router in a registry.
type Version struct {
	Name    string    // router name
	ID      string    // "v1", "v2", ... (numeric order, never reused)
	Dir     string    // the artifact directory, ROOT/NAME/ID
	Created time.Time // from the manifest
	Router  string    // router kind from the manifest
	Current bool      // whether CURRENT names this version
	// Manifest is the version's manifest, its format version checked but
	// its blobs not verified; nil when it cannot be read, and then Err
	// says why.
	Manifest *Manifest
	// Err is why the manifest cannot be read, or nil.
	Err error
}

// OpenRegistry opens the registry at root, which must be a directory if
// it exists; a missing root is created by the first Add.
func OpenRegistry(root string) (*Registry, error) {
	if root == "" {
		return nil, errors.New("registry: empty root")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", root, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("registry %s: %w", root, err)
	case !fi.IsDir():
		return nil, fmt.Errorf("registry %s: not a directory", root)
	}
	return &Registry{root: abs}, nil
}

// Root returns the registry's root folder, absolute.
func (r *Registry) Root() string { return r.root }

func (r *Registry) nameDir(name string) (string, error) {
	if err := CheckName(name); err != nil {
		return "", fmt.Errorf("registry %s: %w", r.root, err)
	}
	return filepath.Join(r.root, name), nil
}

// Names returns the router names with at least one version, sorted. A
// missing root has none.
func (r *Registry) Names() ([]string, error) {
	entries, err := os.ReadDir(r.root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", r.root, err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() || CheckName(e.Name()) != nil {
			continue
		}
		ids, err := versionIDs(filepath.Join(r.root, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("registry %s: %w", r.root, err)
		}
		if len(ids) > 0 {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// versionIDs returns the version folders in dir, in numeric order.
func versionIDs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && versionID.MatchString(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	sort.Slice(ids, func(i, j int) bool { return idNum(ids[i]) < idNum(ids[j]) })
	return ids, nil
}

// ReadManifest reads and parses an artifact's manifest, checking its
// format version but not its blobs (Read verifies those).
func ReadManifest(dir string) (*Manifest, error) {
	mb, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("artifact %s: %w", dir, err)
	}
	var probe struct {
		FormatVersion int `json:"format_version"`
	}
	if err := json.Unmarshal(mb, &probe); err != nil {
		return nil, fmt.Errorf("artifact %s: manifest.json: %v: %w", dir, err, ErrCorrupt)
	}
	if probe.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("artifact %s: format version %d, this binary reads %d: %w", dir, probe.FormatVersion, FormatVersion, ErrFormat)
	}
	var m Manifest
	if err := json.Unmarshal(mb, &m); err != nil {
		return nil, fmt.Errorf("artifact %s: manifest.json: %v: %w", dir, err, ErrCorrupt)
	}
	return &m, nil
}

func (r *Registry) version(name, id, cur string) Version {
	v := Version{Name: name, ID: id, Dir: filepath.Join(r.root, name, id), Current: id == cur}
	v.Manifest, v.Err = ReadManifest(v.Dir)
	if v.Manifest != nil {
		v.Created, v.Router = v.Manifest.Created, v.Manifest.Router
	}
	return v
}

// Versions returns name's versions, oldest first. A version whose
// manifest cannot be read is listed with Err set. A name without a
// folder is an error wrapping fs.ErrNotExist.
func (r *Registry) Versions(name string) ([]Version, error) {
	dir, err := r.nameDir(name)
	if err != nil {
		return nil, err
	}
	ids, err := versionIDs(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("registry %s: no router %q: %w", r.root, name, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", r.root, err)
	}
	cur, err := readCurrent(dir)
	if err != nil && !errors.Is(err, ErrNoCurrent) {
		return nil, err
	}
	vs := make([]Version, 0, len(ids))
	for _, id := range ids {
		vs = append(vs, r.version(name, id, cur))
	}
	return vs, nil
}

// readCurrent returns the id CURRENT in dir names; ErrNoCurrent when
// there is no CURRENT.
func readCurrent(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, CurrentFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s: %w", dir, ErrNoCurrent)
	}
	if err != nil {
		return "", err
	}
	id := strings.TrimSpace(string(b))
	if err := checkID(id); err != nil {
		return "", fmt.Errorf("%s: %w", filepath.Join(dir, CurrentFile), err)
	}
	return id, nil
}

// Current returns name's CURRENT version; errors.Is(err, ErrNoCurrent)
// when there is none. It is an error when CURRENT names a version that
// does not exist; a version whose manifest does not read is returned
// with Err set.
func (r *Registry) Current(name string) (Version, error) {
	dir, err := r.nameDir(name)
	if err != nil {
		return Version{}, err
	}
	cur, err := readCurrent(dir)
	if err != nil {
		return Version{}, fmt.Errorf("registry %s: router %s: %w", r.root, name, err)
	}
	v := r.version(name, cur, cur)
	if _, err := os.Stat(v.Dir); err != nil {
		return Version{}, fmt.Errorf("registry %s: router %s: CURRENT names %s: %w", r.root, name, cur, err)
	}
	return v, nil
}

// History returns name's HISTORY events, oldest first; none when there
// is no HISTORY. Lines that do not parse are skipped.
func (r *Registry) History(name string) ([]Event, error) {
	dir, err := r.nameDir(name)
	if err != nil {
		return nil, err
	}
	return readHistory(dir)
}

func readHistory(dir string) ([]Event, error) {
	b, err := os.ReadFile(filepath.Join(dir, HistoryFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var evs []Event
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		var e Event
		if json.Unmarshal(sc.Bytes(), &e) != nil || checkID(e.Version) != nil {
			continue
		}
		evs = append(evs, e)
	}
	return evs, nil
}

// appendHistory appends one event with a single write, which O_APPEND
// keeps whole among concurrent writers.
func appendHistory(dir string, e Event) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, HistoryFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Add writes m and blobs as the next version of name, creating the root
// and the name's folder when needed, and promotes it when name has no
// CURRENT yet (Version.Current tells).
func (r *Registry) Add(name string, m Manifest, blobs map[string][]byte) (Version, error) {
	dir, err := r.nameDir(name)
	if err != nil {
		return Version{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Version{}, fmt.Errorf("registry %s: %w", r.root, err)
	}
	next, err := nextNum(dir)
	if err != nil {
		return Version{}, fmt.Errorf("registry %s: router %s: %w", r.root, name, err)
	}
	var id string
	for attempt := 0; ; attempt++ {
		id = "v" + strconv.Itoa(next)
		err := Write(filepath.Join(dir, id), m, blobs)
		if err == nil {
			break
		}
		// Lost a race for this id (the folder now exists): take the next.
		if _, serr := os.Stat(filepath.Join(dir, id)); serr != nil || attempt >= 1000 {
			return Version{}, fmt.Errorf("registry %s: router %s: %w", r.root, name, err)
		}
		next++
	}
	if err := appendHistory(dir, Event{Time: time.Now().UTC(), Action: ActionAdd, Version: id}); err != nil {
		return Version{}, fmt.Errorf("registry %s: router %s: wrote %s but could not record it: %w", r.root, name, id, err)
	}
	first, err := promoteIfNone(dir, id)
	if err != nil {
		return Version{}, fmt.Errorf("registry %s: router %s: wrote %s but could not promote it: %w", r.root, name, id, err)
	}
	if first {
		if err := appendHistory(dir, Event{Time: time.Now().UTC(), Action: ActionPromote, Version: id}); err != nil {
			return Version{}, fmt.Errorf("registry %s: router %s: promoted %s but could not record it: %w", r.root, name, id, err)
		}
	}
	cur, _ := readCurrent(dir)
	return r.version(name, id, cur), nil
}

// nextNum returns one more than the highest version number in dir or its
// HISTORY.
func nextNum(dir string) (int, error) {
	ids, err := versionIDs(dir)
	if err != nil {
		return 0, err
	}
	evs, err := readHistory(dir)
	if err != nil {
		return 0, err
	}
	hi := 0
	for _, id := range ids {
		hi = max(hi, idNum(id))
	}
	for _, e := range evs {
		hi = max(hi, idNum(e.Version))
	}
	return hi + 1, nil
}

// writeTemp writes id to a synced temporary file in dir and returns its
// path.
func writeTemp(dir, id string) (string, error) {
	f, err := os.CreateTemp(dir, CurrentFile+".tmp-")
	if err != nil {
		return "", err
	}
	_, err = f.WriteString(id + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// setCurrent replaces CURRENT in dir atomically.
func setCurrent(dir, id string) error {
	tmp, err := writeTemp(dir, id)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, CurrentFile)); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

// promoteIfNone creates CURRENT naming id unless it exists; it reports
// whether it did.
func promoteIfNone(dir, id string) (bool, error) {
	tmp, err := writeTemp(dir, id)
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, filepath.Join(dir, CurrentFile)); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, err
	}
	return true, syncDir(dir)
}

// servable is what Promote and Rollback check before a version becomes
// CURRENT: it reads in full, and the ONNX model directory it references,
// if any, is there (see checkEncoderPath).
func servable(vdir string) error {
	m, _, err := Read(vdir)
	if err != nil {
		return err
	}
	return checkEncoderPath(m.EncoderPath)
}

// Promote makes version id of name CURRENT. It first reads the version
// in full (format version, every blob's size and SHA-256) and, when the
// version references its ONNX encoder's directory (train --encoder-ref),
// checks that the directory still has the encoder's files; it refuses the
// version, leaving CURRENT unchanged, if either fails. Promoting the
// current version changes nothing.
func (r *Registry) Promote(name, id string) error {
	dir, err := r.nameDir(name)
	if err != nil {
		return err
	}
	if err := checkID(id); err != nil {
		return fmt.Errorf("registry %s: router %s: %w", r.root, name, err)
	}
	if _, err := os.Stat(filepath.Join(dir, id)); err != nil {
		return fmt.Errorf("registry %s: router %s: no version %s: %w", r.root, name, id, fs.ErrNotExist)
	}
	if err := servable(filepath.Join(dir, id)); err != nil {
		return fmt.Errorf("registry %s: refusing to promote %s %s: %w", r.root, name, id, err)
	}
	cur, err := readCurrent(dir)
	if err != nil && !errors.Is(err, ErrNoCurrent) {
		return fmt.Errorf("registry %s: router %s: %w", r.root, name, err)
	}
	if cur == id {
		return nil
	}
	if err := setCurrent(dir, id); err != nil {
		return fmt.Errorf("registry %s: router %s: promoting %s: %w", r.root, name, id, err)
	}
	if err := appendHistory(dir, Event{Time: time.Now().UTC(), Action: ActionPromote, Version: id, From: cur}); err != nil {
		return fmt.Errorf("registry %s: router %s: promoted %s but could not record it: %w", r.root, name, id, err)
	}
	return nil
}

// promotionStack replays HISTORY's promotions: a promote pushes its
// version, a rollback pops back to its version.
func promotionStack(evs []Event) []string {
	var st []string
	for _, e := range evs {
		switch e.Action {
		case ActionPromote:
			if len(st) == 0 || st[len(st)-1] != e.Version {
				st = append(st, e.Version)
			}
		case ActionRollback:
			for len(st) > 0 && st[len(st)-1] != e.Version {
				st = st[:len(st)-1]
			}
			if len(st) == 0 {
				st = append(st, e.Version)
			}
		}
	}
	return st
}

// rollbackTarget returns the version a rollback from cur goes back to:
// the latest promotion before cur whose folder is present ("" if none).
func rollbackTarget(dir, cur string, evs []Event) string {
	st := promotionStack(evs)
	for len(st) > 0 {
		top := st[len(st)-1]
		st = st[:len(st)-1]
		if top == cur {
			continue
		}
		if fi, err := os.Stat(filepath.Join(dir, top)); err == nil && fi.IsDir() {
			return top
		}
	}
	return ""
}

// RollbackTarget returns the version Rollback would make CURRENT, or ""
// when there is none (or no CURRENT).
func (r *Registry) RollbackTarget(name string) (string, error) {
	dir, err := r.nameDir(name)
	if err != nil {
		return "", err
	}
	cur, err := readCurrent(dir)
	if errors.Is(err, ErrNoCurrent) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("registry %s: router %s: %w", r.root, name, err)
	}
	evs, err := readHistory(dir)
	if err != nil {
		return "", fmt.Errorf("registry %s: router %s: %w", r.root, name, err)
	}
	return rollbackTarget(dir, cur, evs), nil
}

// Rollback makes the previously promoted version that is still present
// CURRENT again and returns it. It refuses, leaving CURRENT unchanged,
// when there is no such version, it does not read cleanly, or the ONNX
// model directory it references is gone (as Promote).
func (r *Registry) Rollback(name string) (Version, error) {
	dir, err := r.nameDir(name)
	if err != nil {
		return Version{}, err
	}
	cur, err := readCurrent(dir)
	if err != nil {
		return Version{}, fmt.Errorf("registry %s: router %s: %w", r.root, name, err)
	}
	evs, err := readHistory(dir)
	if err != nil {
		return Version{}, fmt.Errorf("registry %s: router %s: %w", r.root, name, err)
	}
	to := rollbackTarget(dir, cur, evs)
	if to == "" {
		return Version{}, fmt.Errorf("registry %s: router %s: no version promoted before %s is present to roll back to", r.root, name, cur)
	}
	if err := servable(filepath.Join(dir, to)); err != nil {
		return Version{}, fmt.Errorf("registry %s: refusing to roll %s back to %s: %w", r.root, name, to, err)
	}
	if err := setCurrent(dir, to); err != nil {
		return Version{}, fmt.Errorf("registry %s: router %s: rolling back to %s: %w", r.root, name, to, err)
	}
	if err := appendHistory(dir, Event{Time: time.Now().UTC(), Action: ActionRollback, Version: to, From: cur}); err != nil {
		return Version{}, fmt.Errorf("registry %s: router %s: rolled back to %s but could not record it: %w", r.root, name, to, err)
	}
	return r.version(name, to, to), nil
}

// GCPlan returns what GC(name, keep) would remove now: version ids, then
// names of stale temporary entries.
func (r *Registry) GCPlan(name string, keep int) ([]string, error) {
	vs, stale, _, err := r.gcPlan(name, keep)
	return append(vs, stale...), err
}

func (r *Registry) gcPlan(name string, keep int) (versions, stale []string, dir string, err error) {
	if keep < 0 {
		return nil, nil, "", fmt.Errorf("registry %s: gc: keep %d: want 0 or more", r.root, keep)
	}
	dir, err = r.nameDir(name)
	if err != nil {
		return nil, nil, "", err
	}
	ids, err := versionIDs(dir)
	if err != nil {
		return nil, nil, "", fmt.Errorf("registry %s: router %s: %w", r.root, name, err)
	}
	protect := map[string]bool{}
	for i := max(0, len(ids)-keep); i < len(ids); i++ {
		protect[ids[i]] = true
	}
	cur, err := readCurrent(dir)
	switch {
	case err == nil:
		evs, err := readHistory(dir)
		if err != nil {
			return nil, nil, "", fmt.Errorf("registry %s: router %s: %w", r.root, name, err)
		}
		protect[cur] = true
		protect[rollbackTarget(dir, cur, evs)] = true
	case !errors.Is(err, ErrNoCurrent):
		// Without a readable CURRENT nothing is known safe to remove.
		return nil, nil, "", fmt.Errorf("registry %s: router %s: gc: %w", r.root, name, err)
	}
	for _, id := range ids {
		if !protect[id] {
			versions = append(versions, id)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, "", fmt.Errorf("registry %s: router %s: %w", r.root, name, err)
	}
	for _, e := range entries {
		if !strings.Contains(e.Name(), ".tmp-") {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > StaleAfter {
			stale = append(stale, e.Name())
		}
	}
	return versions, stale, dir, nil
}

// GC removes name's versions except the newest keep, CURRENT and the
// rollback target, and temporary entries older than StaleAfter. It
// returns what it removed: version ids, then temporary entry names.
func (r *Registry) GC(name string, keep int) (removed []string, err error) {
	versions, stale, dir, err := r.gcPlan(name, keep)
	if err != nil {
		return nil, err
	}
	for _, id := range versions {
		// A version promoted since the plan was made stays.
		if cur, _ := readCurrent(dir); cur == id {
			continue
		}
		trash := filepath.Join(dir, fmt.Sprintf("%s.tmp-gc-%d", id, time.Now().UnixNano()))
		if err := os.Rename(filepath.Join(dir, id), trash); err != nil {
			return removed, fmt.Errorf("registry %s: router %s: removing %s: %w", r.root, name, id, err)
		}
		if err := os.RemoveAll(trash); err != nil {
			return removed, fmt.Errorf("registry %s: router %s: removing %s: %w", r.root, name, id, err)
		}
		removed = append(removed, id)
		if err := appendHistory(dir, Event{Time: time.Now().UTC(), Action: ActionRemove, Version: id}); err != nil {
			return removed, fmt.Errorf("registry %s: router %s: removed %s but could not record it: %w", r.root, name, id, err)
		}
	}
	for _, n := range stale {
		if err := os.RemoveAll(filepath.Join(dir, n)); err != nil {
			return removed, fmt.Errorf("registry %s: router %s: removing %s: %w", r.root, name, n, err)
		}
		removed = append(removed, n)
	}
	if len(removed) > 0 {
		if err := syncDir(dir); err != nil {
			return removed, fmt.Errorf("registry %s: router %s: %w", r.root, name, err)
		}
	}
	return removed, nil
}
