package schemas

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// File names of the JSON Schemas (draft 2020-12) in JSONSchemaFS.
const (
	// SchemaRawEvent describes a raw session event (DESIGN 1.2).
	SchemaRawEvent = "raw_event.schema.json"
	// SchemaNewLead describes a new_lead webhook body.
	SchemaNewLead = "new_lead.schema.json"
	// SchemaNewSession describes a new_session webhook body.
	SchemaNewSession = "new_session.schema.json"
	// SchemaContactRevealed describes a contact_revealed (or legacy
	// contacts.revealed) webhook body.
	SchemaContactRevealed = "contact_revealed.schema.json"
)

// schemaBaseURL is the base of every schema's $id.
const schemaBaseURL = "https://github.com/leadflow/leadflow/schemas/jsonschema/"

// ErrSchemaMismatch is wrapped by Validator.Validate errors.
var ErrSchemaMismatch = errors.New("does not match the JSON schema")

//go:embed jsonschema/*.schema.json
var jsonSchemaFiles embed.FS

// JSONSchemaFS returns the embedded schema files, named by the Schema*
// constants, at the root of the returned read-only file system.
func JSONSchemaFS() fs.FS {
	sub, err := fs.Sub(jsonSchemaFiles, "jsonschema")
	if err != nil {
		panic("schemas: embedded jsonschema directory missing: " + err.Error())
	}
	return sub
}

// JSONSchema returns a copy of the schema file name (a Schema* constant).
func JSONSchema(name string) ([]byte, error) {
	return fs.ReadFile(JSONSchemaFS(), name)
}

// SchemaForEvent returns the schema file of a webhook body with the given
// "event" value (LegacyContactRevealed included), or false.
func SchemaForEvent(event string) (string, bool) {
	switch event {
	case EventNewLead:
		return SchemaNewLead, true
	case EventNewSession:
		return SchemaNewSession, true
	case EventContactRevealed, LegacyContactRevealed:
		return SchemaContactRevealed, true
	}
	return "", false
}

// Validator checks JSON documents against one of the embedded schemas, with
// format assertions on. It is safe for concurrent use. Validation decodes the
// document generically and is meant for tests, the sink and tooling, not for
// per-record hot paths.
type Validator struct {
	name   string
	schema *jsonschema.Schema
}

// NewValidator compiles the embedded schema name (a Schema* constant).
func NewValidator(name string) (*Validator, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	entries, err := fs.ReadDir(JSONSchemaFS(), ".")
	if err != nil {
		return nil, fmt.Errorf("schemas: reading embedded schemas: %w", err)
	}
	for _, e := range entries {
		data, err := fs.ReadFile(JSONSchemaFS(), e.Name())
		if err != nil {
			return nil, fmt.Errorf("schemas: reading %s: %w", e.Name(), err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("schemas: parsing %s: %w", e.Name(), err)
		}
		if err := c.AddResource(schemaBaseURL+e.Name(), doc); err != nil {
			return nil, fmt.Errorf("schemas: adding %s: %w", e.Name(), err)
		}
	}
	s, err := c.Compile(schemaBaseURL + name)
	if err != nil {
		return nil, fmt.Errorf("schemas: compiling %s: %w", name, err)
	}
	return &Validator{name: name, schema: s}, nil
}

// Validate reports whether data is one JSON document matching the schema;
// errors wrap ErrSchemaMismatch and describe each violation.
func (v *Validator) Validate(data []byte) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%s: %w: not valid JSON: %v", v.name, ErrSchemaMismatch, err)
	}
	if err := v.schema.Validate(doc); err != nil {
		return fmt.Errorf("%s: %w: %v", v.name, ErrSchemaMismatch, err)
	}
	return nil
}
