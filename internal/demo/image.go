package demo

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
)

// glyphs is a 5x7 pixel font covering the letters of "HELLO WORLD", drawn
// for this project. Each string is one row; '#' is ink.
var glyphs = map[rune][7]string{
	'H': {"#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"},
	'E': {"#####", "#....", "#....", "####.", "#....", "#....", "#####"},
	'L': {"#....", "#....", "#....", "#....", "#....", "#....", "#####"},
	'O': {".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."},
	'W': {"#...#", "#...#", "#...#", "#.#.#", "#.#.#", "##.##", "#...#"},
	'R': {"####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"},
	'D': {"####.", "#...#", "#...#", "#...#", "#...#", "#...#", "####."},
	' ': {".....", ".....", ".....", ".....", ".....", ".....", "....."},
}

// HelloWorldPNG draws the demo's HelloWorld.png: a sky-blue gradient with a
// two-tone globe (primary and secondary region) and the words HELLO WORLD.
// The picture is generated, never shipped, and is the same on every call.
func HelloWorldPNG() []byte {
	const w, h = 320, 200
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			t := float64(y) / h
			img.SetNRGBA(x, y, color.NRGBA{R: uint8(30 + 40*t), G: uint8(110 + 60*t), B: uint8(200 + 40*t), A: 255})
		}
	}
	// The globe: left half "primary" green, right half "secondary" teal.
	cx, cy, r := 160.0, 78.0, 50.0
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			d := math.Hypot(float64(x)-cx, float64(y)-cy)
			if d > r {
				continue
			}
			c := color.NRGBA{R: 60, G: 170, B: 90, A: 255}
			if float64(x) > cx {
				c = color.NRGBA{R: 40, G: 160, B: 170, A: 255}
			}
			// Meridian and equator lines.
			if math.Abs(float64(y)-cy) < 1 || math.Abs(float64(x)-cx) < 1 || math.Abs(d-r) < 1.5 {
				c = color.NRGBA{R: 240, G: 250, B: 255, A: 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	drawText(img, "HELLO WORLD", 160, 150, 4, color.NRGBA{R: 255, G: 255, B: 255, A: 255})
	var buf bytes.Buffer
	// Encoding an in-memory NRGBA image into a bytes.Buffer cannot fail.
	_ = png.Encode(&buf, img)
	return buf.Bytes()
}

// drawText draws s centred on (cx, top) with each font pixel scale×scale.
func drawText(img *image.NRGBA, s string, cx, top, scale int, c color.NRGBA) {
	width := len(s)*6*scale - scale
	x0 := cx - width/2
	for i, ch := range s {
		g := glyphs[ch]
		for row, line := range g {
			for col, px := range line {
				if px != '#' {
					continue
				}
				for dy := 0; dy < scale; dy++ {
					for dx := 0; dx < scale; dx++ {
						img.SetNRGBA(x0+(i*6+col)*scale+dx, top+row*scale+dy, c)
					}
				}
			}
		}
	}
}
