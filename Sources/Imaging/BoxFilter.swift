extension RGBAImage {
    /// The image reduced by an integer `factor` in both directions: each output pixel is
    /// the mean of a `factor`×`factor` block (the last, partial row and column of blocks
    /// average what they cover). Colour is weighted by alpha, so the invisible colour of
    /// transparent pixels (often black) does not bleed into a product's edges; alpha is
    /// the plain mean.
    public func boxDownscaled(by factor: Int) -> RGBAImage {
        precondition(factor >= 1, "box filter factor must be at least 1")
        guard factor > 1 else { return self }
        let w = (width + factor - 1) / factor, h = (height + factor - 1) / factor
        let srcWidth = width, srcHeight = height
        var sums = [UInt64](repeating: 0, count: w * 5)  // per output column: Σ r·a, Σ g·a, Σ b·a, Σ a, n
        var out = [UInt8](repeating: 0, count: w * h * 4)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                sums.withUnsafeMutableBufferPointer { sum in
                    for oy in 0..<h {
                        sum.update(repeating: 0)
                        for y in (oy * factor)..<min(srcHeight, (oy + 1) * factor) {
                            var s = y * srcWidth * 4
                            for ox in 0..<w {
                                let o = ox * 5
                                for _ in (ox * factor)..<min(srcWidth, (ox + 1) * factor) {
                                    let a = UInt64(src[s + 3])
                                    sum[o] += UInt64(src[s]) * a
                                    sum[o + 1] += UInt64(src[s + 1]) * a
                                    sum[o + 2] += UInt64(src[s + 2]) * a
                                    sum[o + 3] += a
                                    sum[o + 4] += 1
                                    s += 4
                                }
                            }
                        }
                        for ox in 0..<w {
                            let o = ox * 5, d = (oy * w + ox) * 4
                            let alpha = sum[o + 3], n = sum[o + 4]
                            if alpha > 0 {
                                dst[d] = UInt8((sum[o] + alpha / 2) / alpha)
                                dst[d + 1] = UInt8((sum[o + 1] + alpha / 2) / alpha)
                                dst[d + 2] = UInt8((sum[o + 2] + alpha / 2) / alpha)
                            }
                            dst[d + 3] = UInt8((alpha + n / 2) / n)
                        }
                    }
                }
            }
        }
        return RGBAImage(width: w, height: h, pixels: out)
    }

    /// The integer factor that brings the short side down to `targetSize` or just above:
    /// the result's short side is in [targetSize, 2·targetSize]. 1 when the image is
    /// already that small or there is no target.
    static func reductionFactor(width: Int, height: Int, targetSize: Int?) -> Int {
        guard let targetSize, targetSize > 0 else { return 1 }
        return max(1, min(width, height) / targetSize)
    }
}
