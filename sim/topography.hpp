#pragma once
// Surface synthesis and the AFM imaging artefact of a finite tip, on periodic n×n grids
// (row-major, iy slow, square pixels of pixel_m).
//
// Tip dilation (Villarrubia, J. Res. NIST 102, 425 (1997)): image(x) = max_u [h(x + u) + t(u)]
// with a paraboloid tip t(u) = −|u|²/(2R) (t ≤ 0, t(0) = 0, so the image never lies below
// the surface). The paraboloid is separable, t(ux, uy) = t(ux) + t(uy), so the 2-D grey-scale
// dilation is two exact 1-D passes, each an O(n) lower envelope of parabolas (Felzenszwalb &
// Huttenlocher, Theory of Computing 8, 415 (2012)). A groove of half-width w appears at most
// w²/(2R) deep.
//
// Correlated roughness (as Gwyddion lat_synth.c / pycroscopy DTMicroscope): white Gaussian
// noise convolved with a Gaussian kernel of sigma l/2, giving the autocorrelation
// rms²·exp(−r²/l²); the kernel is normalised analytically so the expected RMS is `rms_m`.
#include <random>
#include <vector>

namespace sdm::sim {

/// Grey-scale dilation of the periodic n×n height map `height_m` by a paraboloid tip of radius `tip_radius_m`.
std::vector<double> dilate_paraboloid(const std::vector<double>& height_m, int n, double pixel_m, double tip_radius_m);

/// A periodic n×n Gaussian random field: zero mean, expected RMS `rms_m`, autocorrelation exp(−r²/corr_m²).
std::vector<double> correlated_roughness(int n, double pixel_m, double rms_m, double corr_m, std::mt19937_64& rng);

}  // namespace sdm::sim
