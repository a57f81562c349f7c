import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Decode speed figures for `lookbook-bench` (a program prints them; no test times
/// anything).
public struct DecodeThroughput: Sendable, CustomStringConvertible {
    public var decodedImages: Int
    public var failedImages: Int
    public var seconds: Double
    public var threads: Int
    /// Declared (source) pixels decoded per second, in millions.
    public var sourceMegapixelsPerSecond: Double
    /// CPU time the decoding threads spent, summed: on a shared, loaded machine
    /// `images / cpuSeconds` is the rate one free core would reach.
    public var cpuSeconds: Double
    public var imagesPerSecond: Double { Double(decodedImages + failedImages) / seconds }
    public var cpuMillisecondsPerImage: Double { cpuSeconds * 1000 / Double(max(1, decodedImages + failedImages)) }

    public var description: String {
        let rate = imagesPerSecond
        return "\(Int(rate.rounded())) images/s, \(Int(sourceMegapixelsPerSecond.rounded())) source MP/s on \(threads) threads"
            + " (\(decodedImages + failedImages) images in \((seconds * 1000).rounded() / 1000) s"
            + (failedImages > 0 ? ", \(failedImages) refused)" : ")")
            + "; \((cpuMillisecondsPerImage * 100).rounded() / 100) ms CPU per image"
    }
}

extension ImageDecoder {
    /// Decodes `images` over and over on `threads` threads (each thread takes every
    /// `threads`-th image) until at least `minimumSeconds` have passed and every image
    /// was decoded at least once; a refused image counts as done.
    public func throughput(_ images: [[UInt8]], threads: Int = 2, minimumSeconds: Double = 1) -> DecodeThroughput {
        let threads = max(1, min(threads, max(1, images.count)))
        // One slot per thread, written only by that thread.
        struct Slot { var decoded = 0, failed = 0, pixels = 0, cpu = 0.0 }
        struct Slots: @unchecked Sendable { let p: UnsafeMutableBufferPointer<Slot> }
        let slots = Slots(p: .allocate(capacity: threads))
        slots.p.initialize(repeating: Slot())
        defer { slots.p.deallocate() }
        let start = DispatchTime.now().uptimeNanoseconds
        let limit = UInt64(minimumSeconds * 1e9)
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            var slot = Slot()
            let cpuStart = threadCPUSeconds()
            repeat {
                var i = t
                while i < images.count {
                    do {
                        let out = try decode(images[i])
                        slot.decoded += 1
                        slot.pixels += out.sourceWidth * out.sourceHeight
                    } catch {
                        slot.failed += 1
                    }
                    i += threads
                }
            } while DispatchTime.now().uptimeNanoseconds - start < limit
            slot.cpu = threadCPUSeconds() - cpuStart
            slots.p[t] = slot
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return DecodeThroughput(decodedImages: slots.p.reduce(0) { $0 + $1.decoded }, failedImages: slots.p.reduce(0) { $0 + $1.failed },
                                seconds: seconds, threads: threads,
                                sourceMegapixelsPerSecond: Double(slots.p.reduce(0) { $0 + $1.pixels }) / seconds / 1e6,
                                cpuSeconds: slots.p.reduce(0) { $0 + $1.cpu })
    }

    /// A photo-like JPEG for speed figures: smooth light, a fine woven texture and sensor
    /// noise, so its entropy-coded data is as dense as a detailed camera photo's (about
    /// 0.38 byte per pixel at quality 90: 4.6 MB at 12 MP, the dense end of what phones
    /// write; studio shots on white are lighter), not a flat test card that decodes
    /// unrealistically fast. Huffman decoding of those bytes is the floor that DCT
    /// scaling cannot remove.
    public static func syntheticPhotoJPEG(width: Int, height: Int, quality: Int = 90, seed: UInt64 = 1) throws -> [UInt8] {
        var state = seed | 1
        let pixels = [UInt8](unsafeUninitializedCapacity: width * height * 4) { p, n in
            for y in 0..<height {
                let fy = Double(y) / Double(height)
                for x in 0..<width {
                    state ^= state << 13; state ^= state >> 7; state ^= state << 17
                    let noise = Int(state & 15) - 8
                    let weave = ((x / 3 + y / 3) % 2 == 0) ? 18 : -18
                    let fx = Double(x) / Double(width)
                    let i = (y * width + x) * 4
                    p[i] = UInt8(clamping: Int(150 + 70 * fx) + weave + noise)
                    p[i + 1] = UInt8(clamping: Int(60 + 90 * fy) + weave / 2 + noise)
                    p[i + 2] = UInt8(clamping: Int(90 + 60 * (1 - fx * fy)) - weave + noise)
                    p[i + 3] = 255
                }
            }
            n = width * height * 4
        }
        return try JPEGEncoder().encode(RGBAImage(width: width, height: height, pixels: pixels), quality: quality)
    }
}

/// CPU seconds the calling thread has used.
private func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
