// Package all links every output format of reqprof, so that the render
// registry ([render.Lookup], [render.ParseFormat], [render.Formats]) knows
// them all. Import it for its side effect:
//
//	import _ "github.com/reqprof/reqprof/render/all"
//
// Package reqprof imports it; a program that uses the registry without
// importing reqprof (a command line, a report server) imports it itself.
package all

import (
	_ "github.com/reqprof/reqprof/render/chrome"     // "chrome"
	_ "github.com/reqprof/reqprof/render/folded"     // "folded"
	_ "github.com/reqprof/reqprof/render/pprof"      // "pprof"
	_ "github.com/reqprof/reqprof/render/speedscope" // "speedscope"
	_ "github.com/reqprof/reqprof/render/text"       // "text"
)
