package mixer

import (
	"math"
	"math/cmplx"
)

// Test helpers that look at audio the way the browser test does: an FFT of a
// block of PCM and its peaks.

// sine returns n samples of a tone at freq Hz and amplitude amp, starting at
// sample offset start so consecutive frames join without a click.
func sine(freq, amp float64, start, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(amp * math.Sin(2*math.Pi*freq*float64(start+i)/SampleRate))
	}
	return out
}

// spectrum is the magnitude-squared FFT of a Hann-windowed block whose length
// is a power of two; bin k is k*SampleRate/len(pcm) Hz.
func spectrum(pcm []float32) []float64 {
	n := len(pcm)
	if n&(n-1) != 0 {
		panic("spectrum: length not a power of two")
	}
	x := make([]complex128, n)
	for i, s := range pcm {
		w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1))
		x[i] = complex(float64(s)*w, 0)
	}
	fft(x)
	p := make([]float64, n/2)
	for i := range p {
		a := cmplx.Abs(x[i])
		p[i] = a * a
	}
	return p
}

// fft is an in-place iterative radix-2 Cooley–Tukey transform.
func fft(x []complex128) {
	n := len(x)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j ^= bit
		if i < j {
			x[i], x[j] = x[j], x[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		step := cmplx.Exp(complex(0, -2*math.Pi/float64(size)))
		for start := 0; start < n; start += size {
			w := complex(1, 0)
			for k := 0; k < size/2; k++ {
				a, b := x[start+k], x[start+k+size/2]*w
				x[start+k], x[start+k+size/2] = a+b, a-b
				w *= step
			}
		}
	}
}

func binHz(p []float64) float64 { return SampleRate / float64(2*len(p)) }

// peakHz is the frequency of the strongest bin.
func peakHz(p []float64) float64 {
	best := 1
	for i := 1; i < len(p); i++ {
		if p[i] > p[best] {
			best = i
		}
	}
	return float64(best) * binHz(p)
}

// bandPower sums the bins within ±width bins of freq.
func bandPower(p []float64, freq float64, width int) float64 {
	c := int(math.Round(freq / binHz(p)))
	var sum float64
	for i := max(c-width, 0); i <= c+width && i < len(p); i++ {
		sum += p[i]
	}
	return sum
}

// toneDB is how far, in dB, the band around freq stands above the rest of the
// spectrum: the quality figure (a SINAD: noise and distortion together).
func toneDB(p []float64, width int, freqs ...float64) float64 {
	var total, tone float64
	for i := 1; i < len(p); i++ {
		total += p[i]
	}
	for _, f := range freqs {
		tone += bandPower(p, f, width)
	}
	return 10 * math.Log10(tone/math.Max(total-tone, 1e-30))
}

// relativeDB is the band power around freq relative to the total, in dB.
func relativeDB(p []float64, freq float64, width int) float64 {
	var total float64
	for i := 1; i < len(p); i++ {
		total += p[i]
	}
	return 10 * math.Log10(math.Max(bandPower(p, freq, width), 1e-30)/math.Max(total, 1e-30))
}
