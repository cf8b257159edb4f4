namespace Isaac.LineEditor;

internal enum KeyKind
{
    /// <summary>Printable text; <see cref="Key.Text"/> holds it (one character, with <see cref="Key.Alt"/> a Meta key).</summary>
    Text,

    /// <summary>Ctrl and a letter; <see cref="Key.Text"/> holds the lower-case letter.</summary>
    Control,
    Enter,
    Tab,
    Backspace,
    Delete,
    Left,
    Right,
    Up,
    Down,
    Home,
    End,
    Escape,

    /// <summary>Bracketed paste; <see cref="Key.Text"/> holds everything pasted, line breaks included.</summary>
    Paste,
    Unknown,
}

/// <summary>One key (or one paste) read from the terminal.</summary>
internal readonly record struct Key(KeyKind Kind, string Text = "", bool Alt = false, bool Ctrl = false)
{
    public static Key Control(char letter) => new(KeyKind.Control, letter.ToString());
}
