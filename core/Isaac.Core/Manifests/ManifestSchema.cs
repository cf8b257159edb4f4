using NJsonSchema;

namespace Isaac.Core.Manifests;

/// <summary>
/// The embedded command schema. Loading it (and with it NJsonSchema and Newtonsoft.Json) costs more than
/// everything else at start-up, so it lives apart from <see cref="ManifestLoader"/> and is touched only
/// when a manifest is not in the cache.
/// </summary>
internal static class ManifestSchema
{
    private static readonly Lazy<Task<JsonSchema>> _schema = new(LoadAsync);

    public static Task<JsonSchema> GetAsync() => _schema.Value;

    private static async Task<JsonSchema> LoadAsync()
    {
        using var stream = typeof(ManifestSchema).Assembly.GetManifestResourceStream("Isaac.Schemas.command.schema.json")
            ?? throw new InvalidOperationException("The command schema is not embedded in Isaac.Core.");
        return await JsonSchema.FromJsonAsync(stream).ConfigureAwait(false);
    }
}
