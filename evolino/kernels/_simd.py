"""Fixed-width float64 vectors for numba: one SIMD register (or a few) of a population block, written explicitly.

Idea
----
The block kernels (:mod:`evolino.kernels._numba_blocks`) advance ``lanes`` genomes together, one genome per vector
lane. LLVM's loop vectoriser does not help there (a loop of 4-16 iterations is fully unrolled first, and numba
compiles with the SLP vectoriser off), so the vectors are written out: :class:`F64Vector` is LLVM's
``<lanes x double>``, and every operation here is one LLVM instruction applied lane by lane. On an AVX2 CPU a
4-lane vector is one ``ymm`` register and an 8-lane one two; with AVX-512 an 8-lane vector is one ``zmm`` register.

Arithmetic is plain IEEE, lane by lane, with no fast-math flags (no contraction into FMAs, no reassociation), so lane
``b`` computes exactly what a scalar loop computes for genome ``b``: a genome's result never depends on the block
width, nor on the other genomes of its block.

Operations (inside ``@njit`` code; ``lanes`` is a :class:`Lanes` argument of the compiled function, or an integer
literal)::

    load(a, index, lanes)          a[index], a[index + 1], ...: ``lanes`` consecutive float64 values of a
                                   C-contiguous array, from the element at ``index`` (an int, or a tuple of ints)
    store(a, index, v)             the inverse
    splat(x, lanes)                x in every lane
    lane(v, i)                     the float in lane i
    + - * / and unary -            vector with vector or with a float (the float is used in every lane)
    < > <= >= == !=                lane-wise comparisons -> Mask (ordered, except != which is true for NaN, as
                                   Python's float comparisons)
    & | ~                          on masks
    select(m, a, b)                a where m, else b (a, b vectors or floats)
    any_lane(m), all_lane(m)       bool
    vsqrt, vabs, vcopysign(x, s), vmax(a, b)   lane-wise, vmax as Python's max(a, b) (b where b > a)
    float_bits(v) -> I64Vector, int_bits_as_float(iv)   reinterpret bits (no conversion); I64Vector supports + and
                                   - with integers and << by an integer
"""

from __future__ import annotations

import operator
from functools import cache

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import (
    NativeValue,
    intrinsic,
    models,
    overload,
    overload_attribute,
    register_model,
    typeof_impl,
    unbox,
)

__all__ = ["Lanes", "F64Vector", "I64Vector", "Mask", "load", "store", "splat", "lane", "select", "any_lane",
           "all_lane", "vsqrt", "vabs", "vcopysign", "vmax", "float_bits", "int_bits_as_float"]

_DOUBLE = ir.DoubleType()
_INT64 = ir.IntType(64)
_INT32 = ir.IntType(32)


class Lanes:
    """The vector width as an argument of a compiled function: ``Lanes(8)`` is typed ``LanesType(8)``, so the width
    is known when the function is compiled (one compilation per width) and calls dispatch on the type alone."""

    def __init__(self, count: int) -> None:
        self.count = int(count)

    def __repr__(self) -> str:
        return f"Lanes({self.count})"


class LanesType(types.Type):
    def __init__(self, count: int) -> None:
        self.count = count
        super().__init__(name=f"Lanes({count})")


@typeof_impl.register(Lanes)
def _typeof_lanes(value, context):
    return _lanes_type(value.count)


@cache
def _lanes_type(count: int) -> LanesType:
    return LanesType(count)  # numba's interning of a new type instance costs microseconds on every call


register_model(LanesType)(models.OpaqueModel)


@unbox(LanesType)
def _unbox_lanes(typ, obj, c):
    return NativeValue(c.context.get_dummy_value())  # the type is the whole value


@overload_attribute(LanesType, "count")
def _lanes_count(lanes):
    count = lanes.count
    return lambda lanes: count  # a constant of the compiled code


def _lane_count(lanes):
    """The width given by a LanesType (or an integer literal) argument, else None."""
    if isinstance(lanes, LanesType):
        return lanes.count
    if isinstance(lanes, types.IntegerLiteral):
        return lanes.literal_value
    return None


class F64Vector(types.Type):
    """``lanes`` float64 values in one LLVM vector."""

    def __init__(self, lanes: int) -> None:
        self.lanes = lanes
        super().__init__(name=f"F64Vector({lanes})")


class I64Vector(types.Type):
    """``lanes`` int64 values (the bits of an F64Vector)."""

    def __init__(self, lanes: int) -> None:
        self.lanes = lanes
        super().__init__(name=f"I64Vector({lanes})")


class Mask(types.Type):
    """``lanes`` booleans, the result of a lane-wise comparison."""

    def __init__(self, lanes: int) -> None:
        self.lanes = lanes
        super().__init__(name=f"Mask({lanes})")


def _llvm_type(element):
    def model(cls):
        class VectorModel(models.PrimitiveModel):
            def __init__(self, dmm, fe_type):
                super().__init__(dmm, fe_type, ir.VectorType(element, fe_type.lanes))

        return register_model(cls)(VectorModel)

    return model


_llvm_type(_DOUBLE)(F64Vector)
_llvm_type(_INT64)(I64Vector)
_llvm_type(ir.IntType(1))(Mask)


def _splat_value(builder, value, lanes: int):
    """An LLVM scalar in every lane of a vector."""
    vector_type = ir.VectorType(value.type, lanes)
    single = builder.insert_element(ir.Constant(vector_type, ir.Undefined), value, ir.Constant(_INT32, 0))
    return builder.shuffle_vector(single, ir.Constant(vector_type, ir.Undefined),
                                  ir.Constant(ir.VectorType(_INT32, lanes), [0] * lanes))


def _element_pointer(context, builder, array_type, array, index_type, index):
    """Pointer to the element of a C-contiguous array at an int index (1-d) or a tuple of ints."""
    arr = context.make_array(array_type)(context, builder, array)
    if isinstance(index_type, types.BaseTuple):
        indices = [context.cast(builder, value, ty, types.intp)
                   for value, ty in zip(cgutils.unpack_tuple(builder, index), index_type, strict=True)]
    else:
        indices = [context.cast(builder, index, index_type, types.intp)]
    shape = cgutils.unpack_tuple(builder, arr.shape)
    strides = cgutils.unpack_tuple(builder, arr.strides)
    return cgutils.get_item_pointer2(context, builder, arr.data, shape, strides, array_type.layout, indices,
                                     wraparound=False)


def _index_ok(array, index) -> bool:
    if not (isinstance(array, types.Array) and array.dtype == types.float64 and array.layout == "C"):
        return False
    if isinstance(index, types.Integer):
        return array.ndim == 1
    return (isinstance(index, types.BaseTuple) and len(index) == array.ndim
            and all(isinstance(ty, types.Integer) for ty in index))


@intrinsic(prefer_literal=True)
def load(typingctx, array, index, lanes):
    """``lanes`` consecutive float64 of a C-contiguous array from the element at ``index``."""
    count = _lane_count(lanes)
    if count is None or not _index_ok(array, index):
        return None

    def codegen(context, builder, signature, args):
        pointer = _element_pointer(context, builder, signature.args[0], args[0], signature.args[1], args[1])
        return builder.load(builder.bitcast(pointer, ir.VectorType(_DOUBLE, count).as_pointer()), align=8)

    return F64Vector(count)(array, index, lanes), codegen


@intrinsic
def store(typingctx, array, index, vector):
    """Write a vector's lanes to consecutive float64 of a C-contiguous array from the element at ``index``."""
    if not (isinstance(vector, F64Vector) and _index_ok(array, index)):
        return None

    def codegen(context, builder, signature, args):
        pointer = _element_pointer(context, builder, signature.args[0], args[0], signature.args[1], args[1])
        builder.store(args[2], builder.bitcast(pointer, args[2].type.as_pointer()), align=8)
        return context.get_dummy_value()

    return types.none(array, index, vector), codegen


@intrinsic(prefer_literal=True)
def splat(typingctx, value, lanes):
    """A float in every lane."""
    count = _lane_count(lanes)
    if count is None or not isinstance(value, (types.Float, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        return _splat_value(builder, context.cast(builder, args[0], signature.args[0], types.float64), count)

    return F64Vector(count)(value, lanes), codegen


@intrinsic
def lane(typingctx, vector, index):
    """The float in lane ``index``."""
    if not (isinstance(vector, F64Vector) and isinstance(index, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        return builder.extract_element(args[0], args[1])

    return types.float64(vector, index), codegen


def _as_vector(context, builder, ty, value, lanes: int):
    """An argument as an LLVM float64 vector: vectors as they are, numbers in every lane."""
    if isinstance(ty, F64Vector):
        return value
    return _splat_value(builder, context.cast(builder, value, ty, types.float64), lanes)


def _operands(a, b):
    """The lane count when (a, b) is a valid pair of vector operands (at least one vector), else None."""
    vectors = [ty for ty in (a, b) if isinstance(ty, F64Vector)]
    if not vectors or any(not isinstance(ty, (F64Vector, types.Float, types.Integer)) for ty in (a, b)):
        return None
    if len(vectors) == 2 and a.lanes != b.lanes:
        return None
    return vectors[0].lanes


def _binary(instruction: str):
    @intrinsic
    def apply(typingctx, a, b):
        lanes = _operands(a, b)
        if lanes is None:
            return None

        def codegen(context, builder, signature, args):
            x = _as_vector(context, builder, signature.args[0], args[0], lanes)
            y = _as_vector(context, builder, signature.args[1], args[1], lanes)
            return getattr(builder, instruction)(x, y)

        return F64Vector(lanes)(a, b), codegen

    return apply


def _compare(op: str, ordered: bool):
    @intrinsic
    def apply(typingctx, a, b):
        lanes = _operands(a, b)
        if lanes is None:
            return None

        def codegen(context, builder, signature, args):
            x = _as_vector(context, builder, signature.args[0], args[0], lanes)
            y = _as_vector(context, builder, signature.args[1], args[1], lanes)
            return (builder.fcmp_ordered if ordered else builder.fcmp_unordered)(op, x, y)

        return Mask(lanes)(a, b), codegen

    return apply


def _register(python_operators, implementation, accepts):
    for python_operator in python_operators:
        @overload(python_operator)
        def _overload(a, b):
            if accepts(a, b):
                return lambda a, b: implementation(a, b)


_is_arithmetic = lambda a, b: _operands(a, b) is not None  # noqa: E731
for _ops, _instruction in (((operator.add, operator.iadd), "fadd"), ((operator.sub, operator.isub), "fsub"),
                           ((operator.mul, operator.imul), "fmul"), ((operator.truediv, operator.itruediv), "fdiv")):
    _register(_ops, _binary(_instruction), _is_arithmetic)
for _op, _symbol, _ordered in ((operator.lt, "<", True), (operator.gt, ">", True), (operator.le, "<=", True),
                               (operator.ge, ">=", True), (operator.eq, "==", True), (operator.ne, "!=", False)):
    _register((_op,), _compare(_symbol, _ordered), _is_arithmetic)


@intrinsic
def _negate(typingctx, a):
    if not isinstance(a, F64Vector):
        return None

    def codegen(context, builder, signature, args):
        return builder.fneg(args[0])

    return a(a), codegen


@overload(operator.neg)
def _neg(a):
    if isinstance(a, F64Vector):
        return lambda a: _negate(a)


def _mask_binary(instruction: str):
    @intrinsic
    def apply(typingctx, a, b):
        if not (isinstance(a, Mask) and isinstance(b, Mask) and a.lanes == b.lanes):
            return None

        def codegen(context, builder, signature, args):
            return getattr(builder, instruction)(args[0], args[1])

        return a(a, b), codegen

    return apply


_is_mask_pair = lambda a, b: isinstance(a, Mask) and isinstance(b, Mask)  # noqa: E731
_register((operator.and_, operator.iand), _mask_binary("and_"), _is_mask_pair)
_register((operator.or_, operator.ior), _mask_binary("or_"), _is_mask_pair)


@intrinsic
def _mask_not(typingctx, a):
    if not isinstance(a, Mask):
        return None

    def codegen(context, builder, signature, args):
        return builder.not_(args[0])

    return a(a), codegen


@overload(operator.invert)
def _invert(a):
    if isinstance(a, Mask):
        return lambda a: _mask_not(a)


@intrinsic
def select(typingctx, mask, a, b):
    """``a`` in the lanes where ``mask`` is true, else ``b`` (vectors or numbers)."""
    if not isinstance(mask, Mask) or _operands(a, b) is None and not (
            isinstance(a, (types.Float, types.Integer)) and isinstance(b, (types.Float, types.Integer))):
        return None
    lanes = mask.lanes
    if any(isinstance(ty, F64Vector) and ty.lanes != lanes for ty in (a, b)):
        return None

    def codegen(context, builder, signature, args):
        x = _as_vector(context, builder, signature.args[1], args[1], lanes)
        y = _as_vector(context, builder, signature.args[2], args[2], lanes)
        return builder.select(args[0], x, y)

    return F64Vector(lanes)(mask, a, b), codegen


def _mask_reduction(name: str):
    @intrinsic
    def apply(typingctx, mask):
        if not isinstance(mask, Mask):
            return None

        def codegen(context, builder, signature, args):
            bits = builder.bitcast(args[0], ir.IntType(mask.lanes))
            if name == "any":
                return builder.icmp_unsigned("!=", bits, ir.Constant(bits.type, 0))
            return builder.icmp_unsigned("==", bits, ir.Constant(bits.type, (1 << mask.lanes) - 1))

        return types.boolean(mask), codegen

    return apply


any_lane = _mask_reduction("any")
all_lane = _mask_reduction("all")


def _vector_intrinsic(builder, name: str, vector_type, arity: int):
    """The declaration of LLVM's float64-vector intrinsic ``name`` (e.g. llvm.sqrt.v8f64) in the current module."""
    function_type = ir.FunctionType(vector_type, [vector_type] * arity)
    return cgutils.get_or_insert_function(builder.module, function_type, f"{name}.v{vector_type.count}f64")


def _llvm_unary(name: str):
    @intrinsic
    def apply(typingctx, a):
        if not isinstance(a, F64Vector):
            return None

        def codegen(context, builder, signature, args):
            return builder.call(_vector_intrinsic(builder, name, args[0].type, 1), [args[0]])

        return a(a), codegen

    return apply


vsqrt = _llvm_unary("llvm.sqrt")
vabs = _llvm_unary("llvm.fabs")


@intrinsic
def vcopysign(typingctx, magnitude, sign):
    """|magnitude| with the sign of ``sign``, lane-wise (math.copysign)."""
    lanes = _operands(magnitude, sign)
    if lanes is None:
        return None

    def codegen(context, builder, signature, args):
        x = _as_vector(context, builder, signature.args[0], args[0], lanes)
        y = _as_vector(context, builder, signature.args[1], args[1], lanes)
        return builder.call(_vector_intrinsic(builder, "llvm.copysign", x.type, 2), [x, y])

    return F64Vector(lanes)(magnitude, sign), codegen


@intrinsic
def vmax(typingctx, a, b):
    """Python's max(a, b) lane-wise: b where b > a, else a."""
    lanes = _operands(a, b)
    if lanes is None:
        return None

    def codegen(context, builder, signature, args):
        x = _as_vector(context, builder, signature.args[0], args[0], lanes)
        y = _as_vector(context, builder, signature.args[1], args[1], lanes)
        return builder.select(builder.fcmp_ordered(">", y, x), y, x)

    return F64Vector(lanes)(a, b), codegen


@intrinsic
def float_bits(typingctx, a):
    """The bits of each lane as an int64 (no conversion)."""
    if not isinstance(a, F64Vector):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.VectorType(_INT64, a.lanes))

    return I64Vector(a.lanes)(a), codegen


@intrinsic
def int_bits_as_float(typingctx, a):
    """Each lane's int64 bits as a float64 (no conversion)."""
    if not isinstance(a, I64Vector):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.VectorType(_DOUBLE, a.lanes))

    return F64Vector(a.lanes)(a), codegen


def _integer_binary(instruction: str):
    @intrinsic
    def apply(typingctx, a, b):
        if not (isinstance(a, I64Vector) and isinstance(b, types.Integer)):
            return None

        def codegen(context, builder, signature, args):
            value = _splat_value(builder, context.cast(builder, args[1], signature.args[1], types.int64), a.lanes)
            return getattr(builder, instruction)(args[0], value)

        return a(a, b), codegen

    return apply


_is_int_vector_pair = lambda a, b: isinstance(a, I64Vector) and isinstance(b, types.Integer)  # noqa: E731
_register((operator.add,), _integer_binary("add"), _is_int_vector_pair)
_register((operator.sub,), _integer_binary("sub"), _is_int_vector_pair)
_register((operator.lshift,), _integer_binary("shl"), _is_int_vector_pair)
