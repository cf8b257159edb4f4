using System.Globalization;

namespace Isaac.Core.Queue;

/// <summary>Times in the database: ISO-8601 UTC with a fixed width, so that text order is time order.</summary>
internal static class Iso
{
    private const string Format = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

    public static string From(DateTimeOffset time) => time.UtcDateTime.ToString(Format, CultureInfo.InvariantCulture);

    public static DateTimeOffset Parse(string text) =>
        DateTimeOffset.ParseExact(text, Format, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    public static DateTimeOffset? ParseOptional(object? value) => value is string text ? Parse(text) : null;
}
