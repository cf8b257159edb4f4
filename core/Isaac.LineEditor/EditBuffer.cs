using System.Globalization;

namespace Isaac.LineEditor;

/// <summary>
/// The line being edited and its cursor, with the Emacs editing operations and a kill ring. The cursor always sits on
/// a text-element boundary, so a combining mark or an emoji sequence moves and deletes as one character.
/// </summary>
internal sealed class EditBuffer
{
    private const int KillRingSize = 16;

    private readonly List<string> _killRing = [];
    private LastAction _last;
    private int _yankStart;
    private int _yankLength;
    private int _yankIndex;

    private enum LastAction
    {
        Other,
        KillForward,
        KillBackward,
        Yank,
    }

    public string Text { get; private set; } = "";

    /// <summary>The cursor, as an index into <see cref="Text"/>.</summary>
    public int Cursor { get; private set; }

    public bool AtEnd => Cursor == Text.Length;

    /// <summary>The most recent kill first.</summary>
    public IReadOnlyList<string> KillRing => [.. Enumerable.Reverse(_killRing)];

    /// <summary>Replaces the whole line (history recall, Ctrl-C); the cursor goes to <paramref name="cursor"/> or the end.</summary>
    public void Set(string text, int? cursor = null)
    {
        Text = text;
        Cursor = Math.Clamp(cursor ?? text.Length, 0, text.Length);
        _last = LastAction.Other;
    }

    public void Insert(string text)
    {
        Text = Text.Insert(Cursor, text);
        Cursor += text.Length;
        _last = LastAction.Other;
    }

    /// <summary>Replaces <c>[start, Cursor)</c> with <paramref name="text"/> (a completion).</summary>
    public void ReplaceBeforeCursor(int start, string text)
    {
        Text = string.Concat(Text.AsSpan(0, start), text, Text.AsSpan(Cursor));
        Cursor = start + text.Length;
        _last = LastAction.Other;
    }

    public void DeleteBackward() => Remove(PreviousBoundary(Cursor), Cursor);

    public void DeleteForward() => Remove(Cursor, NextBoundary(Cursor));

    public void MoveLeft() => MoveTo(PreviousBoundary(Cursor));

    public void MoveRight() => MoveTo(NextBoundary(Cursor));

    public void MoveHome() => MoveTo(0);

    public void MoveEnd() => MoveTo(Text.Length);

    /// <summary>Alt-B: to the start of this or the previous word.</summary>
    public void MoveWordLeft() => MoveTo(WordStartBefore(Cursor));

    /// <summary>Alt-F: to the end of this or the next word.</summary>
    public void MoveWordRight() => MoveTo(WordEndAfter(Cursor));

    /// <summary>Ctrl-U: kills from the start of the line to the cursor.</summary>
    public void KillToStart() => Kill(0, Cursor, backward: true);

    /// <summary>Ctrl-K: kills from the cursor to the end of the line.</summary>
    public void KillToEnd() => Kill(Cursor, Text.Length, backward: false);

    /// <summary>Ctrl-W: kills back to the previous whitespace, as bash's unix-word-rubout does.</summary>
    public void KillWhitespaceWordBackward()
    {
        var start = Cursor;
        while (start > 0 && char.IsWhiteSpace(Text[start - 1]))
        {
            start--;
        }

        while (start > 0 && !char.IsWhiteSpace(Text[start - 1]))
        {
            start--;
        }

        Kill(start, Cursor, backward: true);
    }

    /// <summary>Alt-Backspace: kills back to the start of the word.</summary>
    public void KillWordBackward() => Kill(WordStartBefore(Cursor), Cursor, backward: true);

    /// <summary>Alt-D: kills to the end of the word.</summary>
    public void KillWordForward() => Kill(Cursor, WordEndAfter(Cursor), backward: false);

    /// <summary>Ctrl-Y: inserts the most recent kill.</summary>
    public void Yank()
    {
        if (_killRing.Count == 0)
        {
            return;
        }

        _yankIndex = _killRing.Count - 1;
        InsertYank(_killRing[_yankIndex]);
    }

    /// <summary>Alt-Y right after a yank: replaces what was yanked with the kill before it.</summary>
    public void YankPop()
    {
        if (_last != LastAction.Yank || _killRing.Count < 2)
        {
            return;
        }

        Text = Text.Remove(_yankStart, _yankLength);
        Cursor = _yankStart;
        _yankIndex = (_yankIndex + _killRing.Count - 1) % _killRing.Count;
        InsertYank(_killRing[_yankIndex]);
    }

    private void InsertYank(string text)
    {
        _yankStart = Cursor;
        _yankLength = text.Length;
        Insert(text);
        _last = LastAction.Yank;
    }

    private void Kill(int start, int end, bool backward)
    {
        if (end <= start)
        {
            return;
        }

        var killed = Text[start..end];
        var previous = _last;
        Remove(start, end);

        // Kills in a row make one entry, as in Emacs: Ctrl-W Ctrl-W then Ctrl-Y brings back both words.
        if (previous is LastAction.KillBackward or LastAction.KillForward && _killRing.Count > 0)
        {
            _killRing[^1] = backward ? killed + _killRing[^1] : _killRing[^1] + killed;
        }
        else
        {
            _killRing.Add(killed);
            if (_killRing.Count > KillRingSize)
            {
                _killRing.RemoveAt(0);
            }
        }

        _last = backward ? LastAction.KillBackward : LastAction.KillForward;
    }

    private void Remove(int start, int end)
    {
        Text = Text.Remove(start, end - start);
        Cursor = start;
        _last = LastAction.Other;
    }

    private void MoveTo(int index)
    {
        Cursor = index;
        _last = LastAction.Other;
    }

    private static bool IsWordChar(char c) => char.IsLetterOrDigit(c);

    private int WordStartBefore(int index)
    {
        while (index > 0 && !IsWordChar(Text[index - 1]))
        {
            index--;
        }

        while (index > 0 && IsWordChar(Text[index - 1]))
        {
            index--;
        }

        return index;
    }

    private int WordEndAfter(int index)
    {
        while (index < Text.Length && !IsWordChar(Text[index]))
        {
            index++;
        }

        while (index < Text.Length && IsWordChar(Text[index]))
        {
            index++;
        }

        return index;
    }

    private int NextBoundary(int index) => index >= Text.Length ? Text.Length : index + StringInfo.GetNextTextElementLength(Text, index);

    private int PreviousBoundary(int index)
    {
        var previous = 0;
        for (var at = 0; at < index; at += StringInfo.GetNextTextElementLength(Text, at))
        {
            previous = at;
        }

        return previous;
    }
}
