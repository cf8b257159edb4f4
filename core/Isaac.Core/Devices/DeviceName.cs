using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Isaac.Core.Devices;

/// <summary>
/// The rules for a device's name (docs/hub.md), checked wherever a name enters: <c>isaac hub add-device</c>, this
/// device's own name (<c>--device</c>, <c>ISAAC_DEVICE</c>, <c>device:</c>) and route targets (<c>!name</c>).
/// A name is 1–63 ASCII letters, digits, '-', '_' or '.', starting with a letter or digit, and is not a reserved word.
/// Names are case-insensitive: each is lower-cased where it enters, so everything after compares them ordinally.
/// A name grants nothing: rights follow <see cref="Isaac.Plugins.CommandOrigin"/>, and the reserved words only keep
/// names from reading like one.
/// </summary>
public static class DeviceName
{
    /// <summary>The longest name (a DNS label's length).</summary>
    public const int MaxLength = 63;

    /// <summary>Words that name a kind of origin or a group, never one device.</summary>
    public static IReadOnlyList<string> Reserved { get; } = ["all", "any", "hub", "local", "none", "remote", "self"];

    private const string Rule = "use 1-63 ASCII letters, digits, '-', '_' or '.', starting with a letter or digit";

    /// <summary>The name in its canonical lower-case form, or false with a one-line reason it is refused.</summary>
    public static bool TryNormalize(string? name, [NotNullWhen(true)] out string? normalized, [NotNullWhen(false)] out string? problem)
    {
        normalized = null;
        problem = Check(name);
        if (problem is not null)
        {
            return false;
        }

        normalized = name!.ToLowerInvariant();
        return true;
    }

    /// <summary>
    /// A valid name made from a host name that may not be one (this device's default name): lower case, every other
    /// character '-', cut to 63 characters; <c>device</c> when nothing usable is left, <c>device-NAME</c> for a reserved word.
    /// </summary>
    public static string FromHostName(string hostName)
    {
        var name = new StringBuilder(Math.Min(hostName.Length, MaxLength));
        foreach (var c in hostName.ToLowerInvariant())
        {
            if (name.Length == MaxLength)
            {
                break;
            }

            name.Append(IsNameChar(c) ? c : '-');
        }

        var derived = name.ToString().TrimStart('-', '_', '.');
        return derived.Length == 0 ? "device"
            : Reserved.Contains(derived, StringComparer.Ordinal) ? $"device-{derived}"
            : derived;
    }

    private static string? Check(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return $"A device name cannot be empty; {Rule}.";
        }

        if (name.Length > MaxLength)
        {
            return $"Device name {Quote(name)} is {name.Length} characters long; the limit is {MaxLength}.";
        }

        if (name.AsSpan().IndexOfAnyExcept(_nameChars) is var at and >= 0)
        {
            return $"Device name {Quote(name)} contains {Quote(name[at].ToString())} at position {at + 1}; {Rule}.";
        }

        if (!char.IsAsciiLetterOrDigit(name[0]))
        {
            return $"Device name {Quote(name)} must start with a letter or digit; {Rule}.";
        }

        var lower = name.ToLowerInvariant();
        return Reserved.Contains(lower, StringComparer.Ordinal)
            ? $"Device name {Quote(name)} is reserved (reserved words: {string.Join(", ", Reserved)}); choose another name."
            : null;
    }

    private static readonly SearchValues<char> _nameChars =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.");

    private static bool IsNameChar(char c) => _nameChars.Contains(c);

    // Names come from anywhere: quoted, cut short and with control characters escaped so the message stays one line.
    private static string Quote(string text)
    {
        var shown = new StringBuilder("'");
        foreach (var c in text.Length > 40 ? text[..40] : text)
        {
            shown.Append(char.IsControl(c) || char.IsSurrogate(c) || c is '\u2028' or '\u2029' ? $"\\u{(int)c:x4}" : c);
        }

        return shown.Append(text.Length > 40 ? "...'" : "'").ToString();
    }
}
