//go:build tools

// Package tools pins the Node.js language host (pulumi-language-nodejs) that scripts/install-pulumi.sh builds.
// It is never compiled (build tag "tools"); the blank import only keeps the requirement in go.mod.
package tools

import (
	_ "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs"
)
