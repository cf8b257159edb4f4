using System.Text.RegularExpressions;
using Isaac.Core.Manifests;

namespace Isaac.Core.Dispatch;

internal enum InputKind
{
    /// <summary>Nothing but white space.</summary>
    Empty,

    /// <summary>A meta-command whose trigger matched.</summary>
    Meta,

    /// <summary>Looks like <c>/name</c> but no command claims it.</summary>
    UnknownMeta,

    /// <summary>Looks like <c>!device rest</c> but no command has a <c>!</c> trigger to carry it.</summary>
    Route,

    /// <summary>Anything else, for the system shell.</summary>
    Shell,
}

/// <summary>One line of input, classified.</summary>
internal sealed partial record ParsedInput(InputKind Kind, string Text)
{
    public CommandMatch? Match { get; init; }
    public string? Device { get; init; }
    public string? RoutedText { get; init; }

    public static ParsedInput Parse(string line, CommandCatalog catalog)
    {
        var text = line.Trim();
        if (text.Length == 0)
        {
            return new ParsedInput(InputKind.Empty, text);
        }

        if (catalog.Match(text) is { } match)
        {
            return new ParsedInput(InputKind.Meta, text) { Match = match };
        }

        // The first character is checked before a pattern (each in its own method), so a plain shell line never
        // loads the regex engine.
        return text[0] switch
        {
            '!' => Route(text),
            '/' => UnknownMeta(text),
            _ => null,
        } ?? new ParsedInput(InputKind.Shell, text);
    }

    private static ParsedInput? Route(string text) =>
        RoutePattern().Match(text) is { Success: true } route
            ? new ParsedInput(InputKind.Route, text) { Device = route.Groups["device"].Value, RoutedText = route.Groups["rest"].Value }
            : null;

    // "/usr/bin/ls" is a path for the shell; "/queue" is a meta-command nobody serves.
    private static ParsedInput? UnknownMeta(string text)
    {
        var first = text.Split(' ', 2)[0];
        return MetaPattern().IsMatch(first) && !File.Exists(first) && !Directory.Exists(first)
            ? new ParsedInput(InputKind.UnknownMeta, text)
            : null;
    }

    [GeneratedRegex(@"^!(?<device>[A-Za-z0-9][A-Za-z0-9._-]{0,62})\s+(?<rest>\S.*)$", RegexOptions.Singleline)]
    private static partial Regex RoutePattern();

    [GeneratedRegex(@"^/[A-Za-z][A-Za-z0-9_-]*$")]
    private static partial Regex MetaPattern();
}
