using System.Buffers;
using System.Text;

namespace Isaac.LineEditor;

/// <summary>
/// Turns the bytes a terminal in raw mode sends into keys: UTF-8 text, control characters, CSI and SS3 sequences
/// (arrows, Home/End/Delete, with modifiers), Alt as an ESC prefix, and bracketed paste (ESC[200~ … ESC[201~) as one
/// <see cref="KeyKind.Paste"/>, so that a pasted line break never runs anything. A sequence cut between two reads waits
/// for the rest; a lone ESC is the Esc key once <see cref="Flush"/> says no more bytes came.
/// </summary>
internal sealed class KeyDecoder
{
    private static readonly byte[] _pasteEnd = "\u001b[201~"u8.ToArray();

    private readonly List<byte> _pending = [];
    private List<byte>? _paste;

    /// <summary>True when bytes wait for the rest of a sequence (outside a paste).</summary>
    public bool HasPending => _pending.Count > 0 && _paste is null;

    public void Feed(ReadOnlySpan<byte> bytes, Queue<Key> keys)
    {
        _pending.AddRange(bytes);
        Decode(keys, flush: false);
    }

    /// <summary>No more bytes came: what waits is taken as it stands (a lone ESC is the Esc key).</summary>
    public void Flush(Queue<Key> keys) => Decode(keys, flush: true);

    private void Decode(Queue<Key> keys, bool flush)
    {
        var bytes = _pending.ToArray();
        var at = 0;
        while (at < bytes.Length)
        {
            if (_paste is not null)
            {
                var end = bytes.AsSpan(at).IndexOf(_pasteEnd);
                if (end < 0)
                {
                    // Keep what could be the start of the end marker for the next read.
                    var keep = Math.Min(_pasteEnd.Length - 1, bytes.Length - at);
                    _paste.AddRange(bytes.AsSpan(at, bytes.Length - at - keep));
                    at = bytes.Length - keep;
                    break;
                }

                _paste.AddRange(bytes.AsSpan(at, end));
                keys.Enqueue(new Key(KeyKind.Paste, Encoding.UTF8.GetString([.. _paste])));
                _paste = null;
                at += end + _pasteEnd.Length;
                continue;
            }

            var used = DecodeOne(bytes.AsSpan(at), flush, out var key);
            if (used == 0)
            {
                break; // the rest of a sequence has not come yet
            }

            at += used;
            if (key.Kind == KeyKind.Unknown && key.Text == "paste")
            {
                _paste = [];
            }
            else if (key.Kind != KeyKind.Unknown)
            {
                keys.Enqueue(key);
            }
        }

        _pending.RemoveRange(0, at);
    }

    // The bytes one key took (0: incomplete), and the key.
    private static int DecodeOne(ReadOnlySpan<byte> bytes, bool flush, out Key key)
    {
        key = default;
        if (bytes[0] != 0x1B)
        {
            return Plain(bytes, flush, out key);
        }

        if (bytes.Length == 1)
        {
            key = new Key(KeyKind.Escape);
            return flush ? 1 : 0;
        }

        switch (bytes[1])
        {
            case (byte)'[':
                return Csi(bytes, flush, out key);
            case (byte)'O' when bytes.Length >= 3:
                key = Final(bytes[2], "", KeyKind.Unknown);
                return 3;
            case (byte)'O' when !flush:
                return 0;
            case 0x1B:
                key = new Key(KeyKind.Escape);
                return 1;
            default:
                var used = Plain(bytes[1..], flush, out key);
                key = key with { Alt = true };
                return used == 0 ? 0 : used + 1;
        }
    }

    private static int Csi(ReadOnlySpan<byte> bytes, bool flush, out Key key)
    {
        var end = 2;
        while (end < bytes.Length && bytes[end] is >= 0x20 and <= 0x3F)
        {
            end++;
        }

        if (end >= bytes.Length)
        {
            // A cut sequence; if nothing more comes it was Alt-[.
            key = new Key(KeyKind.Text, "[", Alt: true);
            return flush ? 2 : 0;
        }

        var parameters = Encoding.ASCII.GetString(bytes[2..end]);
        key = Final(bytes[end], parameters, KeyKind.Unknown);
        return end + 1;
    }

    // The key a CSI or SS3 sequence names: ESC [ 1 ; 5 C is Ctrl-Right, ESC [ 3 ~ is Delete.
    private static Key Final(byte final, string parameters, KeyKind fallback)
    {
        var fields = parameters.Split(';');
        var modifier = fields.Length > 1 && int.TryParse(fields[1], out var m) ? m - 1 : 0;
        var kind = (char)final switch
        {
            'A' => KeyKind.Up,
            'B' => KeyKind.Down,
            'C' => KeyKind.Right,
            'D' => KeyKind.Left,
            'H' => KeyKind.Home,
            'F' => KeyKind.End,
            '~' => fields[0] switch
            {
                "1" or "7" => KeyKind.Home,
                "4" or "8" => KeyKind.End,
                "3" => KeyKind.Delete,
                _ => fallback,
            },
            _ => fallback,
        };
        return final == '~' && fields[0] == "200"
            ? new Key(KeyKind.Unknown, "paste")
            : new Key(kind, Alt: (modifier & 2) != 0, Ctrl: (modifier & 4) != 0);
    }

    private static int Plain(ReadOnlySpan<byte> bytes, bool flush, out Key key)
    {
        var first = bytes[0];
        key = first switch
        {
            0x0D or 0x0A => new Key(KeyKind.Enter),
            0x09 => new Key(KeyKind.Tab),
            0x08 or 0x7F => new Key(KeyKind.Backspace),
            0x1B => new Key(KeyKind.Escape),
            >= 0x01 and <= 0x1A => Key.Control((char)('a' + first - 1)),
            < 0x20 => new Key(KeyKind.Unknown),
            _ => default,
        };
        if (first < 0x20 || first == 0x7F)
        {
            return 1;
        }

        switch (Rune.DecodeFromUtf8(bytes, out var rune, out var used))
        {
            case OperationStatus.Done:
                key = new Key(KeyKind.Text, rune.ToString());
                return used;
            case OperationStatus.NeedMoreData when !flush:
                return 0;
            default:
                key = new Key(KeyKind.Unknown);
                return Math.Max(1, used); // not UTF-8: dropped
        }
    }
}
