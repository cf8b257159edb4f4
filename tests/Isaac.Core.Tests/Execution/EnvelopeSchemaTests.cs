using Isaac.Core.Execution;
using Isaac.Core.Tests.Support;
using NJsonSchema;

namespace Isaac.Core.Tests.Execution;

/// <summary>The schemas in schemas/ describe what the host really sends and accepts.</summary>
public sealed class EnvelopeSchemaTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static Task<JsonSchema> SchemaAsync(string name) =>
        JsonSchema.FromFileAsync(Path.Combine(Fixtures.RepoRoot, "schemas", name));

    [Fact(Timeout = 15_000)]
    public async Task The_request_a_handler_receives_matches_the_request_schema()
    {
        var command = await TestManifests.LoadAsync(TestManifests.Handler(_dir.Path, "echo", "echo"));
        var response = await new OutOfProcessRunner().RunAsync(command, Some.Request(command, "a b"));
        var schema = await SchemaAsync("request.schema.json");

        var errors = schema.Validate(response.Stdout);

        Assert.Empty(errors);
    }

    [Theory]
    [InlineData("""{"status": "success", "stdout": "plain v1"}""", true)]
    [InlineData("""{"status": "error", "stderr": "broken"}""", true)]
    [InlineData("""{"protocol_version": 1, "status": "success", "stdout": "", "stderr": "", "kind": "table", "meta": {"n": "1"}, "exit_code": 0}""", true)]
    [InlineData("""{"stdout": "no status"}""", false)]
    [InlineData("""{"status": "maybe"}""", false)]
    public async Task The_response_schema_accepts_what_the_host_accepts(string response, bool valid)
    {
        var schema = await SchemaAsync("response.schema.json");

        var errors = schema.Validate(response);

        Assert.Equal(valid, errors.Count == 0);
    }
}
