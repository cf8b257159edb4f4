namespace Isaac.Core.Manifests;

/// <summary>One parsed <c>command.yaml</c>; the shape is documented in schemas/command.schema.json.</summary>
internal sealed record CommandManifest
{
    public required string Version { get; init; }
    public required CommandInfo Command { get; init; }
    public TriggerSpec[] Triggers { get; init; } = [];
    public ArgumentSpec[] Arguments { get; init; } = [];

    /// <summary>The --flags the command knows; null when it does not say (then every word goes to the handler).</summary>
    public FlagSpec[]? Flags { get; init; }

    public required RuntimeSpec Runtime { get; init; }
    public SecuritySpec Security { get; init; } = new();
    public QueuePolicySpec Queue { get; init; } = new();
}

internal sealed record CommandInfo
{
    public required string Name { get; init; }
    public string Description { get; init; } = "";
    public string Category { get; init; } = "general";
}

internal sealed record TriggerSpec
{
    public string Prefix { get; init; } = "/";
    public required string Pattern { get; init; }

    /// <summary>Name given to the last capturing group of <see cref="Pattern"/>; its words become the request's args.</summary>
    public string? Capture { get; init; }
}

internal sealed record ArgumentSpec
{
    public required string Name { get; init; }
    public string Description { get; init; } = "";
    public bool Required { get; init; }
}

internal sealed record FlagSpec
{
    /// <summary>The flag as typed, for example <c>--json</c>.</summary>
    public required string Name { get; init; }
    public string Description { get; init; } = "";
}

internal sealed record RuntimeSpec
{
    /// <summary>A script, executable or plugin assembly (<c>.dll</c>), relative to the manifest's folder; empty for a task.</summary>
    public string Handler { get; init; } = "";

    /// <summary><c>handler</c> (the default: run the handler, its output is the result) or <c>task</c> (docs/tasks.md).</summary>
    public string? Mode { get; init; }

    /// <summary><c>script</c> or <c>plugin</c>; when absent, a handler ending in <c>.dll</c> is a plugin.</summary>
    public string? Kind { get; init; }

    /// <summary>Program that runs a script handler (for example <c>python3</c>); found on PATH.</summary>
    public string? Interpreter { get; init; }

    /// <summary>Full name of the <c>ICommandHandler</c> type, when a plugin assembly exports several.</summary>
    public string? Class { get; init; }

    public int TimeoutMs { get; init; } = 5_000;

    /// <summary>Whether a script handler gets the request envelope on stdin (otherwise stdin is empty).</summary>
    public bool Stdin { get; init; } = true;

    /// <summary>A task's wake: program and arguments (<c>${TASK_ID}</c>… replaced per argument); empty = self-start mode.</summary>
    public string[] WakeCommand { get; init; } = [];

    /// <summary>Run the wake command as one <c>/bin/sh -c</c> line (the variables then come only from the environment).</summary>
    public bool Shell { get; init; }

    /// <summary>How long a woken task has to write <c>&lt;id&gt;.started</c>.</summary>
    public int ConfirmTimeoutMs { get; init; } = 30_000;

    /// <summary>How long a confirmed task has to write <c>&lt;id&gt;.json</c>.</summary>
    public int ResultTimeoutMs { get; init; } = 3_600_000;

    /// <summary>The pause before each retry of a failed wake; one retry per entry.</summary>
    public int[] WakeRetryMs { get; init; } = [5_000, 15_000, 30_000];

    public bool IsTask => Mode == "task";
}

internal sealed record SecuritySpec
{
    /// <summary>1 safe/read-only, 2 changes local state, 3 dangerous. See docs/SECURITY.md.</summary>
    public int Tier { get; init; } = 1;

    /// <summary>Extra environment variable names passed to a script handler beyond the built-in allowlist.</summary>
    public string[] Env { get; init; } = [];

    public ResourceSpec Resources { get; init; } = new();
}

internal sealed record ResourceSpec
{
    public int MaxStdoutKib { get; init; } = 1024;
    public int MaxStderrKib { get; init; } = 64;
}

/// <summary>How the command behaves in the offline queue (the manifest's optional <c>queue:</c> section).</summary>
internal sealed record QueuePolicySpec
{
    /// <summary>Whether it may wait in the queue while the hub is unreachable; if not, it fails at once.</summary>
    public bool Allowed { get; init; } = true;

    /// <summary>Seconds after which a queued copy expires instead of running late; null never expires.</summary>
    public int? TtlSeconds { get; init; }

    /// <summary>Queued copies with this key (per target) replace each other: only the newest is kept.</summary>
    public string? CoalesceKey { get; init; }

    /// <summary>May be delivered in one batch with neighbouring parallel commands; otherwise it is a barrier.</summary>
    public bool Parallel { get; init; }

    /// <summary>Running it twice has the same effect as once: a routed copy interrupted mid-run is run again instead of being reported in doubt. The default is false.</summary>
    public bool Idempotent { get; init; }
}
