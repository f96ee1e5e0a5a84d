/**
 * The one interface every RTP audio decoder of the recording plugin
 * implements, so the recorder can stream any decodable payload into 16-bit
 * PCM without knowing the codec.
 *
 * @module
 */

/**
 * A small stateful decoder of one RTP audio stream's payloads into 16-bit
 * linear PCM. One instance per stream (stateful codecs keep their predictor
 * between packets); decoding allocates nothing.
 */
export interface AudioDecoder {
  /** Encoding name this decoder handles, as SDP writes it (`PCMU`, `G722`, ...). */
  readonly encodingName: string;
  /** Audio sample rate of the decoded PCM in Hz (16000 for G.722, whose RTP clock is 8000). */
  readonly sampleRate: number;
  /** Channels of the decoded PCM; samples of several channels are interleaved. */
  readonly channels: number;
  /**
   * True when a packet decodes the same whatever came before it (G.711, L16,
   * DVI4): its packets may be decoded as they arrive, out of order.
   */
  readonly stateless?: boolean;
  /**
   * Decodes one RTP payload (without RTP header and padding) into `out`.
   *
   * Writes at most `out.length - outOffset` values; a payload that does not
   * fit is decoded only as far as it fits. A malformed payload (too short,
   * a torn last frame) decodes what it can and never throws.
   *
   * @param payload The RTP payload.
   * @param out Destination of the samples (interleaved when `channels > 1`).
   * @param outOffset Index in `out` of the first value written (default 0).
   * @returns Number of `Int16` values written (frames × channels).
   */
  decode(payload: Uint8Array, out: Int16Array, outOffset?: number): number;
  /**
   * How many `Int16` values {@linkcode AudioDecoder.decode} writes for a
   * well-formed payload of this many bytes: the room `out` needs.
   *
   * @param payloadBytes Payload length in bytes.
   * @returns Values written (frames × channels).
   */
  samplesFor(payloadBytes: number): number;
  /** Forgets the state carried between packets (a no-op for stateless codecs). */
  reset(): void;
}
