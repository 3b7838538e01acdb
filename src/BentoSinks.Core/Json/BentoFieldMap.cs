using System;
using System.Collections.Generic;
using System.Text.Json;

namespace BentoSinks.Json
{
    /// <summary>
    /// A front end's field mappings (source name → Bento field name, e.g. <c>FirstName</c> → <c>first_name</c>) grouped
    /// by field, so that every front end writes each field once, in the order the mappings were first given, from the
    /// first of its sources that holds a scalar.
    /// </summary>
    internal sealed class BentoFieldMap
    {
        private readonly JsonEncodedText[] _fields;
        private readonly int[] _firstSource; // field f's sources are [_firstSource[f], _firstSource[f + 1])
        private readonly string[] _sources;
        private readonly Dictionary<string, int> _sourceIndex = new Dictionary<string, int>(StringComparer.Ordinal);

        public BentoFieldMap(IEnumerable<KeyValuePair<string, string>> sourceToField)
        {
            var order = new List<string>();
            var byField = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            foreach (var pair in sourceToField)
            {
                if (string.IsNullOrEmpty(pair.Key) || string.IsNullOrEmpty(pair.Value)) continue;
                if (!byField.TryGetValue(pair.Value, out var sources))
                {
                    byField[pair.Value] = sources = new List<string>();
                    order.Add(pair.Value);
                }
                sources.Add(pair.Key);
            }
            _fields = new JsonEncodedText[order.Count];
            _firstSource = new int[order.Count + 1];
            var all = new List<string>();
            for (var f = 0; f < order.Count; f++)
            {
                _fields[f] = JsonEncodedText.Encode(BentoJson.MakeWellFormed(order[f]), BentoJson.WriterOptions.Encoder);
                _firstSource[f] = all.Count;
                foreach (var source in byField[order[f]])
                {
                    _sourceIndex[source] = all.Count;
                    all.Add(source);
                }
            }
            _firstSource[order.Count] = all.Count;
            _sources = all.ToArray();
        }

        /// <summary>How many distinct fields.</summary>
        public int FieldCount => _fields.Length;

        /// <summary>How many source names, over all fields.</summary>
        public int SourceCount => _sources.Length;

        /// <summary>The encoded name of field <paramref name="field"/>.</summary>
        public JsonEncodedText Field(int field) => _fields[field];

        /// <summary>The first source index of <paramref name="field"/>; its sources end at <c>FirstSource(field + 1)</c>.</summary>
        public int FirstSource(int field) => _firstSource[field];

        /// <summary>
        /// Adds each field's first non-empty captured value, <paramref name="values"/> being indexed by source (as
        /// front ends capture them on the caller's thread); a field's later sources are tried only when the earlier are empty.
        /// </summary>
        public void AddCaptured(object?[]? values, ref BentoFields fields)
        {
            if (values is null) return;
            for (var f = 0; f < FieldCount; f++)
            {
                for (var s = FirstSource(f); s < FirstSource(f + 1); s++)
                {
                    if (fields.Add(Field(f), values[s])) break;
                }
            }
        }

        /// <summary>The name of source <paramref name="source"/>.</summary>
        public string Source(int source) => _sources[source];

        /// <summary>The index of a source name, when it is mapped.</summary>
        public bool TryGetSource(string name, out int source) => _sourceIndex.TryGetValue(name, out source);

        /// <summary>The first source name mapped to the Bento field <paramref name="field"/> (e.g. <c>first_name</c>), or null.</summary>
        public string? FirstSourceOf(string field)
        {
            for (var f = 0; f < _fields.Length; f++)
            {
                if (_fields[f].Value == field) return _firstSource[f] < _firstSource[f + 1] ? _sources[_firstSource[f]] : null;
            }
            return null;
        }

        /// <summary>The field that source <paramref name="source"/> is mapped to.</summary>
        public int FieldOfSource(int source)
        {
            var f = 0;
            while (_firstSource[f + 1] <= source) f++;
            return f;
        }

        /// <summary>Whether <paramref name="name"/> is a source of some field.</summary>
        public bool IsSource(string name) => _sourceIndex.ContainsKey(name);
    }
}
