#!/usr/bin/env python3
"""Compiles the C# of README.md (and of the docs/*.md pages), as a new user would paste it.

Usage: readme-snippets.py FILE... OUT (FILE relative to the repository root; README.md and TestResults/ci/readme when
none are given). Every ```csharp block is a whole program: it becomes Program.cs of a project of its own under OUT/, referencing exactly
the packages named by the `dotnet add package` lines of the same section (## heading); this repository's packages become
project references to src/, the others take their versions from Directory.Packages.props. The project has the
`dotnet new` templates' settings (implicit usings, nullable): Microsoft.NET.Sdk.Web when the section's packages include
an ASP.NET Core one or the code builds a WebApplication, a console app otherwise. A block that is not a whole program is
marked ```csharp fragment and listed here as not compiled. Writes OUT/readme-snippets.slnx's projects and prints one
line per block; the caller builds them (see .ci/run). Exit code 1 when a csharp block has no packages in its section.
"""
import os
import re
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
args = sys.argv[1:]
if len(args) >= 2:
    files, out = args[:-1], args[-1]
else:
    files, out = (args or ["README.md"]), os.path.join(root, "TestResults", "ci", "readme")
out = os.path.abspath(out)
own = {name for name in os.listdir(os.path.join(root, "src")) if os.path.isfile(os.path.join(root, "src", name, name + ".csproj"))}
# This repository's packages built outside src/ (package id -> project), also referenced as projects.
own_elsewhere = {"BentoSinks.Emulator.Testing": os.path.join(root, "tools", "Bento.Emulator.Testing", "Bento.Emulator.Testing.csproj")}
web_packages = ("BentoSinks.AspNetCore", "Serilog.AspNetCore", "OpenTelemetry.Instrumentation.AspNetCore", "Microsoft.AspNetCore.")

blocks = []    # (file, sections, section index, line number, info, code)
for readme_arg in files:
    readme = readme_arg if os.path.isabs(readme_arg) else os.path.join(root, readme_arg)
    name_in_output = os.path.relpath(readme, root)
    sections = []  # (title, start line, [packages])
    section = 0
    sections.append(("(top)", 1, []))
    lines = open(readme, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("## "):
            sections.append((line[3:].strip(), i + 1, []))
            section = len(sections) - 1
        fence = re.match(r"^```(\S*)\s*(.*)$", line)
        if fence and fence.group(1):
            lang, info = fence.group(1), fence.group(2).strip()
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            code = "\n".join(lines[i + 1:j])
            if lang == "bash":
                for m in re.finditer(r"dotnet add package ([\w.]+)", code):
                    sections[section][2].append(m.group(1))
            elif lang == "csharp":
                blocks.append((readme, name_in_output, sections, section, i + 1, info, code))
            i = j
        i += 1

os.makedirs(out, exist_ok=True)
# Isolate the snippets from the repository's build rules (warnings as errors, analyzers): they are built as a user's app.
with open(os.path.join(out, "Directory.Build.props"), "w") as f:
    f.write("<Project>\n  <PropertyGroup>\n    <ManagePackageVersionsCentrally>true</ManagePackageVersionsCentrally>\n"
            "  </PropertyGroup>\n</Project>\n")
with open(os.path.join(out, "Directory.Packages.props"), "w") as f:
    f.write('<Project>\n  <Import Project="%s" />\n</Project>\n' % os.path.join(root, "Directory.Packages.props"))

failed = False
projects = []
for n, (readme, shown, sections, sec, line, info, code) in enumerate(blocks, 1):
    title, _, packages = sections[sec]
    if info == "fragment":
        print("%s:%d (%s): a fragment, not compiled" % (shown, line, title))
        continue
    if info:
        print("%s:%d: unknown csharp block kind '%s' (use ```csharp or ```csharp fragment)" % (shown, line, info))
        failed = True
        continue
    if not packages:
        print("%s:%d (%s): no `dotnet add package` line in its section" % (shown, line, title))
        failed = True
        continue
    web = any(p.startswith(web_packages) for p in packages) or "WebApplication." in code
    name = "Snippet%02d" % n
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "Program.cs"), "w", encoding="utf-8") as f:
        f.write("#line %d \"%s\"\n%s\n" % (line + 1, readme, code))
    refs = []
    for p in packages:
        if p in own:
            refs.append('    <ProjectReference Include="%s" />' % os.path.join(root, "src", p, p + ".csproj"))
        elif p in own_elsewhere:
            refs.append('    <ProjectReference Include="%s" />' % own_elsewhere[p])
        else:
            refs.append('    <PackageReference Include="%s" />' % p)
    with open(os.path.join(folder, name + ".csproj"), "w") as f:
        f.write("""<Project Sdk="%s">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <ImplicitUsings>enable</ImplicitUsings>
    <Nullable>enable</Nullable>
    <IsPackable>false</IsPackable>
  </PropertyGroup>
  <ItemGroup>
%s
  </ItemGroup>
</Project>
""" % ("Microsoft.NET.Sdk.Web" if web else "Microsoft.NET.Sdk", "\n".join(refs)))
    projects.append(os.path.join(folder, name + ".csproj"))
    print("%s:%d (%s): %s, %s -> %s" % (shown, line, title, "web" if web else "console", ", ".join(packages), name))

with open(os.path.join(out, "projects.txt"), "w") as f:
    f.write("\n".join(projects) + "\n")
sys.exit(1 if failed else 0)
