package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"
)

// EnvPrefix prefixes every environment variable that overrides a config key.
const EnvPrefix = "VIGIL"

// decodeFile decodes the YAML file at path over dst, which holds the
// defaults. Unknown keys are errors; every error names the file and line.
// A missing file is not an error when optional is true.
func decodeFile(path string, dst any, optional bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		if optional && errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("config: %w", err)
	}
	return decodeBytes(path, data, dst)
}

func decodeBytes(name string, data []byte, dst any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(dst); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty file: defaults stand
		}
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return fmt.Errorf("config %s: %s", name, joinLines(te.Errors))
		}
		return fmt.Errorf("config %s: %w", name, err)
	}
	return nil
}

func joinLines(errs []string) string {
	var b bytes.Buffer
	for i, e := range errs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e)
	}
	return b.String()
}
