package characters

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	gojson "github.com/goccy/go-json"
)

// jsonLib is a JSON library: the demo's --json switch.
type jsonLib struct {
	name      string // std or fast
	pkg       string // the import path, for display
	unmarshal func([]byte, any) error
	marshal   func(any) ([]byte, error)
	// The names of the trace regions of decoding and encoding.
	decodeRegion, encodeRegion string
}

var jsonLibs = []jsonLib{
	{"std", "encoding/json", json.Unmarshal, json.Marshal, "JSON decode (encoding/json)", "JSON encode (encoding/json)"},
	{"fast", "github.com/goccy/go-json", gojson.Unmarshal, gojson.Marshal, "JSON decode (goccy/go-json)", "JSON encode (goccy/go-json)"},
}

// JSONLibraries returns the valid values of Config.JSON: "std"
// (encoding/json) and "fast" (github.com/goccy/go-json).
func JSONLibraries() []string {
	var names []string
	for _, l := range jsonLibs {
		names = append(names, l.name)
	}
	return names
}

// JSONPackage returns the import path of the JSON library named name
// ("std" or "fast"), or "" if there is none.
func JSONPackage(name string) string {
	l, err := jsonLibrary(name)
	if err != nil {
		return ""
	}
	return l.pkg
}

func jsonLibrary(name string) (jsonLib, error) {
	if name == "" {
		name = "std"
	}
	i := slices.IndexFunc(jsonLibs, func(l jsonLib) bool { return l.name == name })
	if i < 0 {
		return jsonLib{}, fmt.Errorf("unknown JSON library %q (valid: %s)", name, strings.Join(JSONLibraries(), ", "))
	}
	return jsonLibs[i], nil
}
