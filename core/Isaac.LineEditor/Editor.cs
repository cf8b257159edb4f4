using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Isaac.LineEditor;

/// <summary>
/// Isaac's line editor: Emacs keys, history with Ctrl-R and fish-style suggestions, Tab completion, and notices
/// printed above a half-typed line. Written here because no maintained .NET line editor is served (RadLine 0.6 is a
/// stale preview that polls for keys and costs ~40 MiB); it writes ANSI sequences itself and never polls: it blocks
/// in poll(2) on stdin and a wake-up pipe. Every change redraws the prompt and the line from the model, never by
/// patching the screen, so fast typing cannot leave a stale display.
/// </summary>
internal sealed class Editor : IDisposable
{
    // After a lone ESC, how long to wait for the rest of a sequence before taking it as the Esc key.
    private const int EscapeWaitMilliseconds = 30;
    private const int ListedCandidates = 40;

    private readonly RawTerminal _terminal = new();
    private readonly KeyDecoder _decoder = new();
    private readonly Queue<Key> _keys = new();
    private readonly byte[] _input = new byte[4096];
    private readonly EditBuffer _buffer = new();
    private readonly Lock _gate = new();
    private readonly Queue<string> _notices = new();
    private readonly EditorHistory _history;
    private readonly Func<string> _prompt;
    private readonly Func<string, int, CompletionSet> _complete;
    private readonly Func<string, string?> _firstWordStyle;
    private readonly bool _color;
    private readonly PosixSignalRegistration? _resize;

    private Func<string> _activePrompt;
    private bool _reading;
    private bool _dirty;
    private bool _endOfInput;
    private int _cursorRow;
    private int _endRow;
    private int _historyIndex;
    private string _draft = "";
    private Search? _search;

    /// <param name="history">The lines Up, Ctrl-R and suggestions recall.</param>
    /// <param name="prompt">The prompt's text, asked again at every redraw (it may change between keys).</param>
    /// <param name="complete">The candidates for Tab, given the line and the cursor.</param>
    /// <param name="firstWordStyle">An SGR colour for the line's first word, or null for none.</param>
    /// <param name="color">False (NO_COLOR) draws no colour or style at all.</param>
    public Editor(EditorHistory history, Func<string> prompt, Func<string, int, CompletionSet> complete, Func<string, string?> firstWordStyle, bool color)
    {
        _history = history;
        _prompt = _activePrompt = prompt;
        _complete = complete;
        _firstWordStyle = firstWordStyle;
        _color = color;
        // A resized terminal is redrawn at its new width at once (no resize signal on Windows: at the next key).
        _resize = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGWINCH, _ => Invalidate());
    }

    private sealed class Search(string text, int cursor)
    {
        public string OriginalText { get; } = text;
        public int OriginalCursor { get; } = cursor;
        public string Query { get; set; } = "";
        public int Match { get; set; } = -1;
        public bool Failed { get; set; }
    }

    private sealed record Outcome(string? Line);

    /// <summary>
    /// Reads one line; null at Ctrl-D on an empty line or the end of input. A paste keeps its line breaks: the caller
    /// gets them all at once, after Enter.
    /// </summary>
    public string? ReadLine(Func<string>? prompt = null)
    {
        _activePrompt = prompt ?? _prompt;
        _buffer.Set("");
        _historyIndex = _history.Count;
        _draft = "";
        _search = null;
        _cursorRow = _endRow = 0;
        lock (_gate)
        {
            _reading = true;
        }

        _terminal.EnterRaw();
        _terminal.Write("\u001b[?2004h"); // bracketed paste on

        // Output that did not end its line (printf abc) would be drawn over: a row of spaces wraps to a new row only
        // when the cursor is not at the start of one (zsh's PROMPT_SP), and a dim ⏎ marks where the output ended.
        _terminal.Write(Styled("2", "⏎") + new string(' ', TerminalWidth() - 1) + "\r");
        try
        {
            Render();
            while (true)
            {
                while (_keys.Count == 0)
                {
                    if (_endOfInput)
                    {
                        Finish();
                        return null;
                    }

                    WaitForInput();
                }

                while (_keys.TryDequeue(out var key))
                {
                    if (Handle(key) is { } outcome)
                    {
                        return outcome.Line;
                    }
                }

                Render();
            }
        }
        finally
        {
            _terminal.Write("\u001b[?2004l");
            _terminal.LeaveRaw();
            string[] late;
            lock (_gate)
            {
                _reading = false;
                late = [.. _notices];
                _notices.Clear();
            }

            foreach (var notice in late)
            {
                Console.Out.WriteLine(notice);
            }
        }
    }

    /// <summary>Prints a line above the prompt (from any thread); the half-typed line is drawn again below it.</summary>
    public void Notify(string message)
    {
        message = message.TrimEnd();
        lock (_gate)
        {
            if (_reading)
            {
                _notices.Enqueue(message);
                _terminal.Wake();
                return;
            }
        }

        Console.Out.WriteLine(message);
    }

    /// <summary>Asks for a redraw (from any thread): the prompt's text changed.</summary>
    public void Invalidate()
    {
        lock (_gate)
        {
            if (_reading)
            {
                _dirty = true;
                _terminal.Wake();
            }
        }
    }

    public void Dispose()
    {
        _resize?.Dispose();
        _terminal.Dispose();
    }

    private void WaitForInput()
    {
        var ready = _terminal.Wait(_decoder.HasPending ? EscapeWaitMilliseconds : -1);
        if (ready.HasFlag(RawTerminal.Ready.Input))
        {
            var read = _terminal.Read(_input);
            if (read == 0)
            {
                _endOfInput = true;
                return;
            }

            _decoder.Feed(_input.AsSpan(0, read), _keys);
        }
        else if (ready == RawTerminal.Ready.None && _decoder.HasPending)
        {
            _decoder.Flush(_keys);
        }

        ShowNoticesAndChanges();
    }

    private void ShowNoticesAndChanges()
    {
        string[] notices;
        bool dirty;
        lock (_gate)
        {
            notices = [.. _notices];
            _notices.Clear();
            dirty = _dirty;
            _dirty = false;
        }

        if (notices.Length > 0)
        {
            var text = new StringBuilder(Home()).Append("\r\u001b[J");
            foreach (var notice in notices)
            {
                text.Append(notice.Replace("\n", "\r\n", StringComparison.Ordinal)).Append("\r\n");
            }

            _terminal.Write(text.ToString());
            _cursorRow = _endRow = 0;
            Render();
        }
        else if (dirty)
        {
            Render();
        }
    }

    private Outcome? Handle(Key key)
    {
        if (_search is not null)
        {
            return HandleSearch(key);
        }

        switch (key)
        {
            case { Kind: KeyKind.Enter }:
                return Accept();
            case { Kind: KeyKind.Control, Text: "d" } when _buffer.Text.Length == 0:
                Finish();
                return new Outcome(null);
            case { Kind: KeyKind.Control, Text: "c" }:
                Finish();
                _buffer.Set("");
                _historyIndex = _history.Count;
                return null;
            case { Kind: KeyKind.Control, Text: "r" }:
                _search = new Search(_buffer.Text, _buffer.Cursor);
                return null;
            case { Kind: KeyKind.Tab }:
                Complete();
                return null;
            case { Kind: KeyKind.Control, Text: "l" }:
                _terminal.Write("\u001b[H\u001b[2J");
                _cursorRow = _endRow = 0;
                return null;
            default:
                Edit(key);
                return null;
        }
    }

    private void Edit(Key key)
    {
        switch (key)
        {
            case { Kind: KeyKind.Text, Alt: false }:
                _buffer.Insert(key.Text);
                break;
            case { Kind: KeyKind.Paste }:
                _buffer.Insert(CleanPaste(key.Text));
                break;
            case { Kind: KeyKind.Right or KeyKind.End, Alt: false, Ctrl: false } or { Kind: KeyKind.Control, Text: "f" or "e" } when Suggestion() is { } suggestion:
                _buffer.Insert(suggestion);
                break;
            case { Kind: KeyKind.Text, Alt: true, Text: "f" } when Suggestion() is { } suggestion:
                _buffer.Insert(suggestion[..WordEnd(suggestion)]);
                break;
            case { Kind: KeyKind.Text, Alt: true, Text: "f" } or { Kind: KeyKind.Right, Alt: true } or { Kind: KeyKind.Right, Ctrl: true }:
                _buffer.MoveWordRight();
                break;
            case { Kind: KeyKind.Text, Alt: true, Text: "b" } or { Kind: KeyKind.Left, Alt: true } or { Kind: KeyKind.Left, Ctrl: true }:
                _buffer.MoveWordLeft();
                break;
            case { Kind: KeyKind.Text, Alt: true, Text: "d" }:
                _buffer.KillWordForward();
                break;
            case { Kind: KeyKind.Text, Alt: true, Text: "y" }:
                _buffer.YankPop();
                break;
            case { Kind: KeyKind.Backspace, Alt: true }:
                _buffer.KillWordBackward();
                break;
            case { Kind: KeyKind.Backspace }:
                _buffer.DeleteBackward();
                break;
            case { Kind: KeyKind.Delete } or { Kind: KeyKind.Control, Text: "d" }:
                _buffer.DeleteForward();
                break;
            case { Kind: KeyKind.Left } or { Kind: KeyKind.Control, Text: "b" }:
                _buffer.MoveLeft();
                break;
            case { Kind: KeyKind.Right } or { Kind: KeyKind.Control, Text: "f" }:
                _buffer.MoveRight();
                break;
            case { Kind: KeyKind.Home } or { Kind: KeyKind.Control, Text: "a" }:
                _buffer.MoveHome();
                break;
            case { Kind: KeyKind.End } or { Kind: KeyKind.Control, Text: "e" }:
                _buffer.MoveEnd();
                break;
            case { Kind: KeyKind.Control, Text: "u" }:
                _buffer.KillToStart();
                break;
            case { Kind: KeyKind.Control, Text: "k" }:
                _buffer.KillToEnd();
                break;
            case { Kind: KeyKind.Control, Text: "w" }:
                _buffer.KillWhitespaceWordBackward();
                break;
            case { Kind: KeyKind.Control, Text: "y" }:
                _buffer.Yank();
                break;
            case { Kind: KeyKind.Escape }:
                // PSReadLine's RevertLine: Esc empties the line.
                _buffer.Set("");
                _historyIndex = _history.Count;
                break;
            case { Kind: KeyKind.Up } or { Kind: KeyKind.Control, Text: "p" }:
                Recall(-1);
                break;
            case { Kind: KeyKind.Down } or { Kind: KeyKind.Control, Text: "n" }:
                Recall(+1);
                break;
        }
    }

    private void Recall(int step)
    {
        var index = _historyIndex + step;
        if (index < 0 || index > _history.Count)
        {
            return;
        }

        if (_historyIndex == _history.Count)
        {
            _draft = _buffer.Text;
        }

        _historyIndex = index;
        _buffer.Set(index == _history.Count ? _draft : _history[index]);
    }

    // Ctrl-R: each key refines the search or ends it; a key that is not the search's own ends it and then does its work.
    private Outcome? HandleSearch(Key key)
    {
        var search = _search ?? throw new InvalidOperationException("No search is running.");
        switch (key)
        {
            case { Kind: KeyKind.Text, Alt: false } or { Kind: KeyKind.Paste }:
                search.Query += key.Text;
                Find(search, search.Match >= 0 && !search.Failed ? search.Match + 1 : _history.Count);
                return null;
            case { Kind: KeyKind.Backspace }:
                search.Query = search.Query.Length > 0 ? search.Query[..^1] : "";
                search.Match = -1;
                if (search.Query.Length == 0)
                {
                    _buffer.Set(search.OriginalText, search.OriginalCursor);
                    search.Failed = false;
                }
                else
                {
                    Find(search, _history.Count);
                }

                return null;
            case { Kind: KeyKind.Control, Text: "r" }:
                Find(search, search.Match >= 0 ? search.Match : _history.Count);
                return null;
            case { Kind: KeyKind.Escape } or { Kind: KeyKind.Control, Text: "g" or "c" }:
                _buffer.Set(search.OriginalText, search.OriginalCursor);
                _search = null;
                return null;
            case { Kind: KeyKind.Enter }:
                _search = null;
                return Accept();
            default:
                _search = null;
                if (search.Match >= 0)
                {
                    _historyIndex = search.Match;
                }

                return Handle(key);
        }
    }

    private void Find(Search search, int before)
    {
        if (search.Query.Length == 0)
        {
            return;
        }

        var match = _history.SearchBackward(search.Query, before);
        search.Failed = match < 0;
        if (match >= 0)
        {
            search.Match = match;
            _buffer.Set(_history[match], _history[match].IndexOf(search.Query, StringComparison.Ordinal));
        }
    }

    private void Complete()
    {
        var set = _complete(_buffer.Text, _buffer.Cursor);
        if (set.Candidates.Count == 0)
        {
            return;
        }

        if (set.Candidates.Count == 1 && !set.HintsOnly)
        {
            var only = set.Candidates[0];
            _buffer.ReplaceBeforeCursor(set.Start, only.Text + (only.Complete && _buffer.AtEnd ? " " : ""));
            return;
        }

        var prefix = CompletionSet.CommonPrefix(set.Candidates);
        if (!set.HintsOnly && prefix.Length > _buffer.Cursor - set.Start)
        {
            _buffer.ReplaceBeforeCursor(set.Start, prefix);
            return;
        }

        // Ambiguous: list the candidates under the line, then draw the prompt again below them (as bash does).
        Render(final: true);
        var width = TerminalWidth();
        var nameWidth = Math.Min(30, set.Candidates.Max(c => TextWidth.Of(c.Text)));
        var text = new StringBuilder("\r\n");
        foreach (var candidate in set.Candidates.Take(ListedCandidates))
        {
            text.Append("  ").Append(candidate.Text).Append(' ', Math.Max(0, nameWidth - TextWidth.Of(candidate.Text)));
            var room = width - 5 - Math.Max(nameWidth, TextWidth.Of(candidate.Text));
            if (candidate.Description.Length > 0 && room > 3)
            {
                // One row per candidate: a description longer than the row is cut.
                var description = TextWidth.Of(candidate.Description) <= room ? candidate.Description : Fit(candidate.Description, room - 1) + "…";
                text.Append("  ").Append(Styled("2", description));
            }

            text.Append("\r\n");
        }

        if (set.Candidates.Count > ListedCandidates)
        {
            text.Append(CultureInfo.InvariantCulture, $"  … and {set.Candidates.Count - ListedCandidates} more\r\n");
        }

        _terminal.Write(text.ToString());
        _cursorRow = _endRow = 0;
    }

    private Outcome Accept()
    {
        Finish();
        var line = _buffer.Text;
        _buffer.Set("");
        return new Outcome(line);
    }

    /// <summary>Draws the line one last time without a suggestion and leaves the cursor on the next line.</summary>
    private void Finish()
    {
        _search = null;
        Render(final: true);
        _terminal.Write("\r\n");
        _cursorRow = _endRow = 0;
    }

    // Only for a line being typed: a line recalled with Up is shown as it is.
    private string? Suggestion() =>
        _search is null && _historyIndex == _history.Count && _buffer.AtEnd && _history.Suggest(_buffer.Text) is { } entry ? entry[_buffer.Text.Length..] : null;

    // From the cursor's row up to the first row of the prompt.
    private string Home() => _cursorRow > 0 ? $"\u001b[{_cursorRow}A" : "";

    /// <summary>
    /// Draws the prompt, the line and the suggestion from the top row of the prompt, tracking where each text element
    /// lands as the terminal wraps it (a wide character that does not fit in the last column goes to the next row),
    /// then puts the cursor where the model says.
    /// </summary>
    private void Render(bool final = false)
    {
        var width = TerminalWidth();
        var prompt = _search is { } search
            ? $"({(search.Failed ? "failed " : "")}reverse-i-search)`{search.Query}': "
            : _activePrompt() + " ";
        var text = _buffer.Text;
        var suggestion = final ? null : Suggestion();
        var cursorIndex = final ? text.Length : _buffer.Cursor;

        var screen = new StringBuilder("\u001b[?25l").Append(Home()).Append("\r\u001b[J");
        var place = new Placement(width);
        screen.Append(_search is null ? Styled("1", prompt) : prompt);
        place.Advance(prompt);

        var (wordStart, wordEnd) = FirstWord(text);
        var style = _color && wordEnd > wordStart ? _firstWordStyle(text[wordStart..wordEnd]) : null;
        var cursor = (Row: 0, Column: 0);
        for (var index = 0; index < text.Length;)
        {
            var length = StringInfo.GetNextTextElementLength(text, index);
            if (index == cursorIndex)
            {
                cursor = place.Position;
            }

            if (style is not null && index == wordStart)
            {
                screen.Append($"\u001b[{style}m");
            }

            if (style is not null && index == wordEnd)
            {
                screen.Append("\u001b[0m");
            }

            if (text[index] == '\n')
            {
                screen.Append(Styled("2", "↵")); // a pasted line break, run only with the whole paste
                place.Advance(1);
            }
            else
            {
                screen.Append(text, index, length);
                place.Advance(TextWidth.OfElement(text, index, length));
            }

            index += length;
        }

        if (style is not null && wordEnd == text.Length)
        {
            screen.Append("\u001b[0m");
        }

        if (cursorIndex >= text.Length)
        {
            cursor = place.Position;
        }

        if (suggestion is not null)
        {
            screen.Append(Styled("90", suggestion));
            place.Advance(suggestion);
        }

        // At the right edge the terminal holds the cursor in the last column until the next character: move on now.
        var end = place.Position;
        if (place.AtEdge)
        {
            screen.Append("\r\n");
        }

        if (end.Row > cursor.Row)
        {
            screen.Append(CultureInfo.InvariantCulture, $"\u001b[{end.Row - cursor.Row}A");
        }

        screen.Append('\r');
        if (cursor.Column > 0)
        {
            screen.Append(CultureInfo.InvariantCulture, $"\u001b[{cursor.Column}C");
        }

        _terminal.Write(screen.Append("\u001b[?25h").ToString());
        _cursorRow = cursor.Row;
        _endRow = end.Row;
    }

    // The longest start of text that fits in the given cells.
    private static string Fit(string text, int cells)
    {
        var used = 0;
        var index = 0;
        while (index < text.Length)
        {
            var length = StringInfo.GetNextTextElementLength(text, index);
            var width = TextWidth.OfElement(text, index, length);
            if (used + width > cells)
            {
                break;
            }

            used += width;
            index += length;
        }

        return text[..index];
    }

    private string Styled(string sgr, string text) => _color ? $"\u001b[{sgr}m{text}\u001b[0m" : text;

    private static (int Start, int End) FirstWord(string text)
    {
        var start = 0;
        while (start < text.Length && char.IsWhiteSpace(text[start]))
        {
            start++;
        }

        var end = start;
        while (end < text.Length && !char.IsWhiteSpace(text[end]))
        {
            end++;
        }

        return (start, end);
    }

    // Where Alt-F stops in a suggestion: after its next word.
    private static int WordEnd(string text)
    {
        var index = 0;
        while (index < text.Length && !char.IsLetterOrDigit(text[index]))
        {
            index++;
        }

        while (index < text.Length && char.IsLetterOrDigit(text[index]))
        {
            index++;
        }

        return index;
    }

    // Pasted text keeps its line breaks (shown as ↵, each line run in turn after Enter); other control characters go.
    private static string CleanPaste(string text)
    {
        var clean = new StringBuilder(text.Length);
        foreach (var c in text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n').TrimEnd('\n'))
        {
            if (c == '\t')
            {
                clean.Append(' ');
            }
            else if (c == '\n' || !char.IsControl(c))
            {
                clean.Append(c);
            }
        }

        return clean.ToString();
    }

    private static int TerminalWidth()
    {
        try
        {
            return Math.Max(10, Console.WindowWidth);
        }
        catch (IOException)
        {
            return 80;
        }
    }

    /// <summary>Where text lands on a terminal <c>width</c> columns wide, counted from the prompt's first row.</summary>
    private sealed class Placement(int width)
    {
        private int _row;
        private int _column;

        public (int Row, int Column) Position => _column >= width ? (_row + 1, 0) : (_row, _column);

        public bool AtEdge => _column >= width;

        public void Advance(int cells)
        {
            if (cells == 0)
            {
                return;
            }

            if (_column + cells > width)
            {
                _row++;
                _column = 0;
            }

            _column += cells;
        }

        public void Advance(string text)
        {
            for (var index = 0; index < text.Length;)
            {
                var length = StringInfo.GetNextTextElementLength(text, index);
                Advance(TextWidth.OfElement(text, index, length));
                index += length;
            }
        }
    }
}
