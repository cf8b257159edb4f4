using System.Text;
using Isaac.LineEditor;

namespace Isaac.Core.Tests.LineEditor;

public sealed class KeyDecoderTests
{
    private static Key[] Decode(params string[] reads)
    {
        var decoder = new KeyDecoder();
        var keys = new Queue<Key>();
        foreach (var read in reads)
        {
            decoder.Feed(Encoding.UTF8.GetBytes(read), keys);
        }

        decoder.Flush(keys);
        return [.. keys];
    }

    [Fact]
    public void Text_controls_and_utf8_split_between_reads_decode_to_keys()
    {
        // Act
        var keys = Decode("a\u0001\r\u007f", "\u00e6"[..1], "\u65e5");

        // Assert
        Assert.Equal(
            [new Key(KeyKind.Text, "a"), Key.Control('a'), new Key(KeyKind.Enter), new Key(KeyKind.Backspace), new Key(KeyKind.Text, "æ"), new Key(KeyKind.Text, "日")],
            keys);
    }

    [Fact]
    public void Csi_and_ss3_sequences_with_modifiers_name_their_keys()
    {
        // Act
        var keys = Decode("\u001b[A\u001bOB\u001b[3~\u001b[1;5C\u001b[H\u001b[4~\u001bOD");

        // Assert
        Assert.Equal(
            [new Key(KeyKind.Up), new Key(KeyKind.Down), new Key(KeyKind.Delete), new Key(KeyKind.Right, Ctrl: true), new Key(KeyKind.Home), new Key(KeyKind.End), new Key(KeyKind.Left)],
            keys);
    }

    [Fact]
    public void Esc_before_a_key_is_alt_and_a_lone_esc_is_the_escape_key_once_flushed()
    {
        // Arrange
        var decoder = new KeyDecoder();
        var keys = new Queue<Key>();

        // Act
        decoder.Feed("\u001bb\u001b\u007f\u001b"u8, keys);
        var pendingBeforeFlush = decoder.HasPending;
        decoder.Flush(keys);

        // Assert
        Assert.True(pendingBeforeFlush);
        Assert.Equal([new Key(KeyKind.Text, "b", Alt: true), new Key(KeyKind.Backspace, Alt: true), new Key(KeyKind.Escape)], keys);
    }

    [Fact]
    public void A_bracketed_paste_is_one_key_with_its_line_breaks_even_when_split_between_reads()
    {
        // Act
        var keys = Decode("x\u001b[200~echo one\recho", " two\r\u001b[20", "1~y");

        // Assert
        Assert.Equal([new Key(KeyKind.Text, "x"), new Key(KeyKind.Paste, "echo one\recho two\r"), new Key(KeyKind.Text, "y")], keys);
    }
}
