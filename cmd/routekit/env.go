package main

import (
	"os"
)

// envVars lists the environment variables routekit reads by fixed name.
// Besides these, 'serve' reads the variables a config names: the admin
// token's (admin_token_env) and each upstream's API key (api_key_env).
var envVars = []struct{ name, doc string }{
	{"ROUTEKIT_ORT_LIB", "path of the ONNX Runtime shared library for ONNX encoders (make setup puts it in .cache/ort/)"},
	{"ROUTEKIT_ADMIN_TOKEN", "serve: bearer token of the /admin/ endpoints (the default of admin_token_env)"},
	{"GOMLX_BACKEND", "train --router bert: GoMLX backend (default \"go\", the pure-Go one; \"xla\" where the PJRT plugin is installed)"},
}

// defaultORTLib is where make setup puts the ONNX Runtime library,
// relative to the project root.
const defaultORTLib = ".cache/ort/libonnxruntime.so.1.30.0"

// ortLibrary returns the ONNX Runtime library: ROUTEKIT_ORT_LIB, else the
// make setup location when it exists (from the working directory), else
// "" (the ONNX encoder then says how to get it).
func ortLibrary() string {
	if p := os.Getenv("ROUTEKIT_ORT_LIB"); p != "" {
		return p
	}
	if _, err := os.Stat(defaultORTLib); err == nil {
		return defaultORTLib
	}
	return ""
}
