namespace Isaac.LineEditor;

/// <summary>
/// The lines the editor can recall, oldest first: each line once (running a line again moves it to the newest end),
/// at most <c>limit</c> of them. Searches walk back from the newest, so the first match is the most recent.
/// </summary>
internal sealed class EditorHistory(int limit)
{
    private readonly List<string> _entries = [];

    public int Count => _entries.Count;

    public string this[int index] => _entries[index];

    /// <summary>Adds lines read from the history file, oldest first; duplicates keep their newest place.</summary>
    public void Load(IEnumerable<string> lines)
    {
        foreach (var line in lines)
        {
            Add(line);
        }
    }

    public void Add(string line)
    {
        if (line.Length == 0 || line.Contains('\n'))
        {
            return;
        }

        if (_entries.Count > 0 && _entries[^1] == line)
        {
            return;
        }

        var earlier = _entries.LastIndexOf(line);
        if (earlier >= 0)
        {
            _entries.RemoveAt(earlier);
        }

        _entries.Add(line);
        if (_entries.Count > limit)
        {
            _entries.RemoveRange(0, _entries.Count - limit);
        }
    }

    /// <summary>The index of the newest entry before <paramref name="before"/> that contains <paramref name="query"/>; -1 if none.</summary>
    public int SearchBackward(string query, int before)
    {
        for (var index = Math.Min(before, _entries.Count) - 1; index >= 0; index--)
        {
            if (_entries[index].Contains(query, StringComparison.Ordinal))
            {
                return index;
            }
        }

        return -1;
    }

    /// <summary>The newest entry that starts with <paramref name="prefix"/> and is longer (fish's suggestion); null if none.</summary>
    public string? Suggest(string prefix)
    {
        if (prefix.Length == 0)
        {
            return null;
        }

        for (var index = _entries.Count - 1; index >= 0; index--)
        {
            var entry = _entries[index];
            if (entry.Length > prefix.Length && entry.StartsWith(prefix, StringComparison.Ordinal))
            {
                return entry;
            }
        }

        return null;
    }
}
