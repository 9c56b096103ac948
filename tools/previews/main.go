// Command previews renders every email template in every locale with the
// sample data (templates.Sample, as `leadworker preview` does) and
// screenshots each in headless Chromium, 600 px wide and as tall as the
// email, into <out>/<template>-<locale>.png. `make previews` runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/leadworker/leadworker/internal/browser"
	"github.com/leadworker/leadworker/templates"
)

func main() {
	out := flag.String("out", "docs/emails", "folder to write the PNG files to")
	width := flag.Int("width", 600, "viewport width in CSS pixels")
	flag.Parse()
	if err := run(*out, *width); err != nil {
		fmt.Fprintln(os.Stderr, "previews:", err)
		os.Exit(1)
	}
}

type preview struct {
	name, locale, html string
	htmlPath, png      string
	height             int
}

func run(out string, width int) error {
	if _, err := browser.Path(); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "leadworker-previews-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	var all []*preview
	for _, name := range templates.Names {
		for _, locale := range templates.Locales {
			data, err := templates.Sample(name, locale)
			if err != nil {
				return err
			}
			e, err := templates.Render(name, locale, data)
			if err != nil {
				return err
			}
			stem := name + "-" + locale
			p := &preview{name: name, locale: locale, html: e.HTML,
				htmlPath: filepath.Join(tmp, stem+".html"), png: filepath.Join(out, stem+".png")}
			if err := os.WriteFile(p.htmlPath, []byte(e.HTML), 0o644); err != nil {
				return err
			}
			all = append(all, p)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// One run measures how tall each email is at this width (in a short
	// viewport, so that the height is the email's, not the viewport's).
	docs := make([]string, len(all))
	for i, p := range all {
		docs[i] = p.html
	}
	layouts, err := browser.Measure(ctx, docs, width, 100)
	if err != nil {
		return err
	}
	for i, p := range all {
		p.height = layouts[i].ScrollHeight
		if layouts[i].Overflows() {
			fmt.Fprintf(os.Stderr, "previews: warning: %s-%s is %d px wide, more than %d\n", p.name, p.locale, layouts[i].ScrollWidth, width)
		}
	}

	// Then one screenshot per email, a few at a time.
	sem := make(chan struct{}, max(1, min(4, runtime.NumCPU())))
	var wg sync.WaitGroup
	errs := make([]error, len(all))
	for i, p := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = shoot(ctx, p, width, tmp)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	var total int64
	for _, p := range all {
		st, err := os.Stat(p.png)
		if err != nil {
			return err
		}
		total += st.Size()
		fmt.Printf("wrote %s (%dx%d, %d KB)\n", p.png, width, p.height, (st.Size()+512)/1024)
	}
	fmt.Printf("%d previews, %d KB in all\n", len(all), (total+512)/1024)
	return nil
}

// shoot screenshots p and writes it, recompressed, to p.png.
func shoot(ctx context.Context, p *preview, width int, tmp string) error {
	u, err := browser.FileURL(p.htmlPath)
	if err != nil {
		return err
	}
	raw := p.htmlPath + ".png"
	if err := browser.Screenshot(ctx, u, raw, width, p.height); err != nil {
		return fmt.Errorf("%s-%s: %w", p.name, p.locale, err)
	}
	return recompress(raw, p.png)
}

// recompress rewrites Chromium's PNG at the best compression: the files
// are committed.
func recompress(from, to string) error {
	f, err := os.Open(from)
	if err != nil {
		return err
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", from, err)
	}
	tmp := to + ".tmp"
	w, err := os.Create(tmp)
	if err != nil {
		return err
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(w, img); err != nil {
		w.Close()
		os.Remove(tmp)
		return err
	}
	if err := w.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, to)
}
