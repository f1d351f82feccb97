package filter

// Limits enforced by Compile. Each rejection names the limit it hit.
const (
	// MaxBytes is the largest FILTER document Compile accepts, in bytes.
	MaxBytes = 1 << 20
	// MaxDepth is the deepest nesting of nodes: the root is at depth 1, a
	// condition inside {"all": [...]} at the root is at depth 2.
	MaxDepth = 16
	// MaxNodes is the most nodes (groups and conditions) in one filter.
	MaxNodes = 256
	// MaxRegexpBytes is the longest pattern "matches" accepts, in bytes.
	MaxRegexpBytes = 1024
	// MaxListValues is the most values an "in" or "not_in" list holds.
	MaxListValues = 1000
)

// RootPath is the path of the whole filter in Error.Path.
const RootPath = "filter"

// Error is a compile error. Path names the place in the FILTER tree, e.g.
// "filter.all[1].any[0].value" or "filter.all[2].field", so that the admin
// API can answer 422 with {"fields": {Path: Msg}}.
type Error struct {
	// Path is where in the tree the mistake is, starting at RootPath.
	Path string
	// Msg says what is wrong and what is accepted instead.
	Msg string
}

// Error returns Path + ": " + Msg.
func (e *Error) Error() string { return e.Path + ": " + e.Msg }

// FieldPath returns Path.
func (e *Error) FieldPath() string { return e.Path }

func errorf(path, msg string) *Error { return &Error{Path: path, Msg: msg} }
