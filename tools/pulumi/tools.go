//go:build tools

// Package tools pins the Pulumi CLI that scripts/install-pulumi.sh builds into .tools/bin.
// It is never compiled (build tag "tools"); the blank import only keeps the requirement in go.mod.
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
