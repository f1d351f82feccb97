package filter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// maxJSONDepth bounds the nesting of the raw JSON document, so that parsing
// never recurses without limit. A filter at MaxDepth needs about 2*MaxDepth+1
// levels (an object and an array per group, plus a value array); deeper
// documents are rejected before the filter's own depth check would name the
// node.
const maxJSONDepth = 4*MaxDepth + 4

// jsonKind is the type of a decoded JSON value.
type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

// jsonValue is a decoded JSON value that keeps object members in order and
// with duplicates, so that the compiler can reject duplicate and unknown keys
// with the path of the node they are in.
type jsonValue struct {
	kind jsonKind
	// str is a string's contents or a number's literal.
	str string
	// arr holds an array's elements.
	arr []jsonValue
	// obj holds an object's members in document order.
	obj []jsonMember
}

type jsonMember struct {
	key string
	val jsonValue
}

// describe names v's type for error messages: "a string", "an array", ...
func (v *jsonValue) describe() string {
	switch v.kind {
	case jsonNull:
		return "null"
	case jsonBool:
		return "a boolean"
	case jsonNumber:
		return "a number"
	case jsonString:
		return "a string"
	case jsonArray:
		return "an array"
	default:
		return "an object"
	}
}

// parseJSON decodes one JSON value from raw; trailing data is an error.
func parseJSON(raw []byte) (jsonValue, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	v, err := parseValue(d, 1)
	if err != nil {
		return jsonValue{}, err
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return jsonValue{}, fmt.Errorf("unexpected data after the filter at byte %d", d.InputOffset())
	}
	return v, nil
}

func parseValue(d *json.Decoder, depth int) (jsonValue, error) {
	tok, err := d.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return jsonValue{}, errors.New("unexpected end of JSON")
		}
		return jsonValue{}, fmt.Errorf("invalid JSON: %v", err)
	}
	switch t := tok.(type) {
	case nil:
		return jsonValue{kind: jsonNull}, nil
	case bool:
		if t {
			return jsonValue{kind: jsonBool, str: "true"}, nil
		}
		return jsonValue{kind: jsonBool, str: "false"}, nil
	case json.Number:
		return jsonValue{kind: jsonNumber, str: string(t)}, nil
	case string:
		return jsonValue{kind: jsonString, str: t}, nil
	case json.Delim:
		if depth > maxJSONDepth {
			return jsonValue{}, fmt.Errorf("JSON is nested deeper than %d levels", maxJSONDepth)
		}
		if t == '[' {
			v := jsonValue{kind: jsonArray}
			for d.More() {
				e, err := parseValue(d, depth+1)
				if err != nil {
					return jsonValue{}, err
				}
				v.arr = append(v.arr, e)
			}
			_, err := d.Token() // ']'
			return v, wrapSyntax(err)
		}
		v := jsonValue{kind: jsonObject}
		for d.More() {
			k, err := d.Token()
			if err != nil {
				return jsonValue{}, wrapSyntax(err)
			}
			key, _ := k.(string) // the decoder only yields strings as keys
			e, err := parseValue(d, depth+1)
			if err != nil {
				return jsonValue{}, err
			}
			v.obj = append(v.obj, jsonMember{key: key, val: e})
		}
		_, err := d.Token() // '}'
		return v, wrapSyntax(err)
	}
	return jsonValue{}, fmt.Errorf("invalid JSON token %v", tok)
}

func wrapSyntax(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, io.EOF) {
		return errors.New("unexpected end of JSON")
	}
	return fmt.Errorf("invalid JSON: %v", err)
}
