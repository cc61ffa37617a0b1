package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The database (state.db, bbolt) holds one bucket per resource type with one JSON record
// per object under its primary key, and one bucket per index. An index entry's key is
// <index key> 0x00 <primary key> and its value the primary key, so an index is read in order by a
// cursor, and a prefix scan finds every object with one index key. Keys are compared as
// bytes, which for the names and IDs used here (ASCII) is the order AWS lists them in.
//
// Adding a resource type is: a record struct, a kind (bucket, primary key, indexes) added
// to allKinds, and the State methods that apply AWS's rules to it (ops.go, or an ops_*.go
// of its own). An index added to an existing kind is filled from the stored records on
// the first Open that creates its bucket.

var (
	bucketMeta   = []byte("meta")   // account, region, format version, registration code...
	bucketEvents = []byte("events") // event log: 8-byte big-endian Seq → JSON Event
)

// Meta keys.
const (
	metaVersion          = "version"
	metaAccount          = "account"
	metaRegion           = "region"
	metaEndpointPrefix   = "endpointPrefix"
	metaRegistrationCode = "registrationCode"
	metaMigratedFrom     = "migratedFrom" // what Open migrated the database from, once
)

// index is a secondary index over the records of one kind; an entry's value is the
// record's primary key (which may itself be composite).
type index[T any] struct {
	bucket []byte
	// keys returns the index keys of a record (nil: the record is not in this index).
	keys func(*T) [][]byte
}

// kind describes how records of type T are stored.
type kind[T any] struct {
	bucket  []byte
	key     func(*T) []byte
	indexes []index[T]
	// loaded, if set, runs on every record read from the database (e.g. to attach a
	// cached parse of its certificate).
	loaded func(st *State, rec *T)
}

// schemaKind is what opening the database needs of a kind, whatever its record type.
type schemaKind interface {
	buckets() [][]byte
	// fillIndexes writes the entries of the indexes whose buckets are in created (new
	// to this database) for every record already stored: an index added to a kind in a
	// later release is complete from the first Open that knows it.
	fillIndexes(tx *bolt.Tx, created map[string]bool) error
}

// allKinds are the kinds of the local IoT Core; a new resource type is added here.
var allKinds = []schemaKind{
	kindCAs, kindCerts, kindThings, kindPolicies, kindRoles, kindThingPrincipals, kindPolicyTargets,
	kindRolePolicies, kindIAMPolicies, kindTemplates, kindTemplateVersions,
	kindThingTypes, kindThingGroups, kindGroupMembers, kindBillingGroups,
}

// bucketNames are every bucket the schema uses (created on open).
func bucketNames() [][]byte {
	names := [][]byte{bucketMeta, bucketEvents}
	for _, k := range allKinds {
		names = append(names, k.buckets()...)
	}
	return names
}

func (k *kind[T]) buckets() [][]byte {
	out := [][]byte{k.bucket}
	for _, ix := range k.indexes {
		out = append(out, ix.bucket)
	}
	return out
}

// The kinds of the local IoT Core.
var (
	kindCAs = &kind[CA]{
		bucket: []byte("cacerts"),
		key:    func(c *CA) []byte { return []byte(c.ID) },
		indexes: []index[CA]{
			{bucket: []byte("cacerts.by-created"), keys: func(c *CA) [][]byte { return one(timeKey(c.Created)) }},
			{bucket: []byte("cacerts.by-subject"), keys: func(c *CA) [][]byte { return one([]byte(c.subjectKey())) }},
		},
		loaded: func(st *State, c *CA) { c.cert = st.s.shared.caCert(c.ID, c.PEM) },
	}
	kindCerts = &kind[Certificate]{
		bucket: []byte("certificates"),
		key:    func(c *Certificate) []byte { return []byte(c.ID) },
		indexes: []index[Certificate]{
			{bucket: []byte("certificates.by-created"), keys: func(c *Certificate) [][]byte { return one(timeKey(c.Created)) }},
			{bucket: []byte("certificates.by-ca"), keys: func(c *Certificate) [][]byte {
				if c.CAID == "" {
					return nil
				}
				return one(join([]byte(c.CAID), timeKey(c.Created)))
			}},
		},
	}
	kindThings = &kind[Thing]{
		bucket: []byte("things"),
		key:    func(t *Thing) []byte { return []byte(t.Name) },
		indexes: []index[Thing]{
			{bucket: []byte("things.by-type"), keys: func(t *Thing) [][]byte { return some(t.TypeName) }},
			{bucket: []byte("things.by-billing-group"), keys: func(t *Thing) [][]byte { return some(t.BillingGroup) }},
		},
	}
	kindPolicies = &kind[Policy]{
		bucket: []byte("policies"),
		key:    func(p *Policy) []byte { return []byte(p.Name) },
	}
	kindRoles = &kind[Role]{
		bucket: []byte("roles"),
		key:    func(r *Role) []byte { return []byte(r.Name) },
		indexes: []index[Role]{
			{bucket: []byte("roles.by-arn"), keys: func(r *Role) [][]byte { return one([]byte(r.ARN)) }},
			{bucket: []byte("roles.by-managed-policy"), keys: func(r *Role) [][]byte { return some(r.AttachedPolicies...) }},
		},
	}
	// Attachments are records too, keyed by both ends; the index is the other direction.
	kindThingPrincipals = &kind[ThingPrincipal]{
		bucket: []byte("thing-principals"), // thing 0x00 principal
		key:    func(a *ThingPrincipal) []byte { return join([]byte(a.Thing), []byte(a.Principal)) },
		indexes: []index[ThingPrincipal]{
			{bucket: []byte("thing-principals.by-principal"), keys: func(a *ThingPrincipal) [][]byte { return one([]byte(a.Principal)) }},
		},
	}
	kindPolicyTargets = &kind[PolicyAttachment]{
		bucket: []byte("policy-targets"), // target 0x00 policy
		key:    func(a *PolicyAttachment) []byte { return join([]byte(a.Target), []byte(a.Policy)) },
		indexes: []index[PolicyAttachment]{
			{bucket: []byte("policy-targets.by-policy"), keys: func(a *PolicyAttachment) [][]byte { return one([]byte(a.Policy)) }},
		},
	}
)

func (k *kind[T]) fillIndexes(tx *bolt.Tx, created map[string]bool) error {
	var todo []index[T]
	for _, ix := range k.indexes {
		if created[string(ix.bucket)] {
			todo = append(todo, ix)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	return tx.Bucket(k.bucket).ForEach(func(key, v []byte) error {
		rec := new(T)
		if err := json.Unmarshal(v, rec); err != nil {
			return fmt.Errorf("the local IoT state has a damaged %s record %q: %v", k.bucket, key, err)
		}
		for _, ix := range todo {
			for _, ik := range ix.keys(rec) {
				if err := tx.Bucket(ix.bucket).Put(join(ik, key), bytes.Clone(key)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func one(k []byte) [][]byte { return [][]byte{k} }

// some is one index key per non-empty string.
func some(keys ...string) [][]byte {
	var out [][]byte
	for _, k := range keys {
		if k != "" {
			out = append(out, []byte(k))
		}
	}
	return out
}

// join makes a composite key: a 0x00 b. Names, IDs and ARNs never contain 0x00.
func join(a, b []byte) []byte {
	out := make([]byte, 0, len(a)+1+len(b))
	out = append(out, a...)
	out = append(out, 0)
	return append(out, b...)
}

// timeKey orders by time: 8 bytes, big-endian nanoseconds since 1970 (times before are 0).
func timeKey(t time.Time) []byte {
	n := t.UnixNano()
	if n < 0 || t.IsZero() {
		n = 0
	}
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(n))
	return b
}

func seqKey(seq int64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(seq))
	return b
}

// tracked is a record read or written in a write transaction: the record (which the
// helpers change in place) and its encoding as last stored, so the commit writes back
// exactly the records that changed, with their index entries.
type tracked struct {
	stored []byte
	flush  func(st *State, stored []byte) ([]byte, error)
}

func cacheKey(bucket, key []byte) string { return string(bucket) + "\x00" + string(key) }

// get returns the record with this primary key, or nil. In a write transaction the same
// pointer is returned for the rest of the transaction and changes to it are saved.
func get[T any](st *State, k *kind[T], key []byte) *T {
	ck := cacheKey(k.bucket, key)
	if r, ok := st.recs[ck]; ok {
		if r == nil {
			return nil // deleted in this transaction
		}
		return r.(*T)
	}
	v := st.tx.Bucket(k.bucket).Get(key)
	if v == nil {
		return nil
	}
	rec := new(T)
	if err := json.Unmarshal(v, rec); err != nil {
		st.fail(Errorf(CodeInternalFailure, "the local IoT state has a damaged %s record %q: %v", k.bucket, key, err))
		return nil
	}
	if k.loaded != nil {
		k.loaded(st, rec)
	}
	st.recs[ck] = rec
	if st.tx.Writable() {
		track(st, ck, k, rec, v)
	}
	return rec
}

func track[T any](st *State, ck string, k *kind[T], rec *T, stored []byte) {
	st.dirty[ck] = &tracked{stored: bytes.Clone(stored), flush: func(st *State, stored []byte) ([]byte, error) {
		return k.save(st, rec, stored)
	}}
}

// save stores rec and its index entries, replacing those of the previous encoding
// (nil: a new record).
func (k *kind[T]) save(st *State, rec *T, prev []byte) ([]byte, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return prev, err
	}
	if prev != nil && bytes.Equal(b, prev) {
		return prev, nil
	}
	key := k.key(rec)
	if prev != nil {
		old := new(T)
		if json.Unmarshal(prev, old) == nil {
			if err := k.unindex(st.tx, old); err != nil {
				return prev, err
			}
		}
	}
	if err := st.tx.Bucket(k.bucket).Put(key, b); err != nil {
		return prev, err
	}
	for _, ix := range k.indexes {
		for _, ik := range ix.keys(rec) {
			if err := st.tx.Bucket(ix.bucket).Put(join(ik, key), key); err != nil {
				return prev, err
			}
		}
	}
	return b, nil
}

func (k *kind[T]) unindex(tx *bolt.Tx, rec *T) error {
	key := k.key(rec)
	for _, ix := range k.indexes {
		for _, ik := range ix.keys(rec) {
			if err := tx.Bucket(ix.bucket).Delete(join(ik, key)); err != nil {
				return err
			}
		}
	}
	return nil
}

// insert stores a new record (its key must be free) and tracks it for the rest of the
// transaction.
func insert[T any](st *State, k *kind[T], rec *T) {
	b, err := k.save(st, rec, nil)
	if err != nil {
		st.fail(Errorf(CodeInternalFailure, "cannot save the local IoT state: %v", err))
		return
	}
	ck := cacheKey(k.bucket, k.key(rec))
	st.recs[ck] = rec
	track(st, ck, k, rec, b)
}

// remove deletes the record with this key and its index entries (absent: nothing).
func remove[T any](st *State, k *kind[T], key []byte) {
	rec := get(st, k, key)
	if rec == nil {
		return
	}
	ck := cacheKey(k.bucket, key)
	st.flushOne(ck) // its index entries as stored
	if err := k.unindex(st.tx, rec); err != nil {
		st.fail(Errorf(CodeInternalFailure, "cannot save the local IoT state: %v", err))
	}
	if err := st.tx.Bucket(k.bucket).Delete(key); err != nil {
		st.fail(Errorf(CodeInternalFailure, "cannot save the local IoT state: %v", err))
	}
	st.recs[ck] = nil
	delete(st.dirty, ck)
}

// scan is one ordered pass over a bucket: the primary bucket of k (ix nil) or one of
// its indexes, restricted to keys starting with prefix, starting after the key after
// (exclusive; nil: from the start), ascending or descending. It calls fn with each
// record and its bucket key until fn returns false.
func scan[T any](st *State, k *kind[T], ix *index[T], prefix, after []byte, desc bool, fn func(key []byte, rec *T) bool) {
	st.flush()
	if st.err != nil {
		return
	}
	b := st.tx.Bucket(k.bucket)
	if ix != nil {
		b = st.tx.Bucket(ix.bucket)
	}
	c := b.Cursor()
	var key []byte
	switch {
	case !desc && after != nil:
		key, _ = c.Seek(after)
		if key != nil && bytes.Equal(key, after) {
			key, _ = c.Next()
		}
	case !desc:
		key, _ = c.Seek(prefix)
	default:
		start := after
		if start == nil {
			start = prefixEnd(prefix)
		}
		if start == nil {
			key, _ = c.Last()
		} else if key, _ = c.Seek(start); key == nil {
			key, _ = c.Last()
		} else {
			key, _ = c.Prev()
		}
	}
	for ; key != nil && bytes.HasPrefix(key, prefix); key = step(c, desc) {
		pk := key
		if ix != nil {
			pk = b.Get(key) // an index entry's value is the primary key
		}
		rec := get(st, k, bytes.Clone(pk))
		if rec == nil {
			continue
		}
		if !fn(bytes.Clone(key), rec) {
			return
		}
	}
}

func step(c *bolt.Cursor, desc bool) []byte {
	var k []byte
	if desc {
		k, _ = c.Prev()
	} else {
		k, _ = c.Next()
	}
	return k
}

// prefixEnd is the first key after every key starting with p (nil: none, p is empty or all 0xff).
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// count is the number of records of a kind.
func count[T any](st *State, k *kind[T]) int {
	st.flush()
	return st.tx.Bucket(k.bucket).Stats().KeyN
}
