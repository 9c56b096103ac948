package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/leadworker/leadworker/templates"
)

// preview renders a sample email: the HTML to --out and the subject and
// text next to it (<out>.txt).
func preview(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("preview", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("template", templates.NewLead, "email to render: "+strings.Join(templates.Names, ", "))
	locale := fs.String("locale", "en", "locale: "+strings.Join(templates.Locales, ", "))
	out := fs.String("out", "", "HTML file to write (default preview-<template>-<locale>.html)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return 2
	}
	if !slices.Contains(templates.Locales, *locale) {
		fmt.Fprintf(stderr, "leadworker: unknown locale %q; use one of %s\n", *locale, strings.Join(templates.Locales, ", "))
		return 2
	}
	data, err := templates.Sample(*name, *locale)
	if err != nil {
		fmt.Fprintf(stderr, "leadworker: %v\n", err)
		return 2
	}
	email, err := templates.Render(*name, *locale, data)
	if err != nil {
		fmt.Fprintf(stderr, "leadworker: %v\n", err)
		return 1
	}
	if *out == "" {
		*out = fmt.Sprintf("preview-%s-%s.html", *name, *locale)
	}
	text := "Subject: " + email.Subject + "\n\n" + email.Text
	if err := writeFiles(map[string]string{*out: email.HTML, *out + ".txt": text}); err != nil {
		fmt.Fprintf(stderr, "leadworker: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s and %s.txt\n", *out, *out)
	return 0
}

func writeFiles(files map[string]string) error {
	for path, content := range files {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}
